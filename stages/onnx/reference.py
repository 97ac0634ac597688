"""reference/onnx: an ONNX source's golden outputs and noise floor, computed beside the conversion.

load/onnx hands the converters the model, its samples and its signature as soon as it has them; what only
validation needs — the source's outputs on every sample, and how far they move when the inputs move by
one float32 ulp — is computed here, in ONNX Runtime (ONNX's reference implementation where ONNX Runtime
cannot run the model), while the converters run. Every validate step of the run reads its golden outputs
and noise floor from this bundle (stages/validate/stage.py).
"""

from __future__ import annotations

from stages import samples as samples_lib
from stages.context import StageContext
from stages.onnx.load import golden_runner

TOOLS = ("onnx", "onnxruntime", "numpy")


def run(ctx: StageContext) -> dict:
    loaded = ctx.source
    name = ctx.user_file_name("model")
    feeds = samples_lib.load_npz(loaded.file("samples"), "samples")
    metrics: dict = {}
    golden, floor = samples_lib.golden_and_floor(
        feeds,
        golden_runner(loaded.file("model"), loaded.manifest["inputs"], name, metrics),
        name,
        loaded.manifest.get("samples_info", {}),
    )
    return {
        "format": "reference",
        "files": samples_lib.write_golden(ctx.out, golden),
        "outputs": loaded.manifest["outputs"],
        "source": loaded.manifest.get("source", {}),
        "metrics": metrics,
        "noise_floor": floor,
    }
