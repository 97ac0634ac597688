"""quantize/openvino: fp16 and int8 IR.

fp16: the IR with its weights compressed to fp16 (save_model's compress_to_fp16), run and validated with
f32 inference precision, as the CPU plugin runs it by default. int8: NNCF's post-training quantization
(nncf.quantize) calibrated on the user's --calibration set, fed by the IR's own input names; inputs and
outputs stay float32 (NNCF inserts FakeQuantize nodes), and the int8 gate applies.

The int8 IR is made for whatever CPU it is deployed on, not the one that converts it: on CPUs without
VNNI (AVX2 only) the plugin's u8 x s8 dot products go through 16-bit sums that saturate. NNCF's
overflow fix (weights in 7 bits) is on for every layer, not only the first (its default): without it,
the example MobileFaceNet's int8 embedding fell to cosine 0.984 on an AVX2-only EPYC, 0.99+ elsewhere.
"""

from __future__ import annotations

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.openvino import model as ir

TOOLS = ("openvino", "nncf", "numpy")


def _fp16(ctx: StageContext, model):
    return model, True


def _int8(ctx: StageContext, model):
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix

    source = ctx.source
    if not source.has("calibration"):
        raise StageError(
            "int8 quantization needs calibration data: pass --calibration FILE.npz "
            "(arrays keyed by input name, shaped like the model's inputs)"
        )
    inputs = source.manifest["inputs"]
    arrays = samples_lib.load_npz(source.file("calibration"), "calibration file")
    arrays = samples_lib.apply_preprocess(arrays, source.manifest.get("preprocess"))
    runs = [
        {spec["name"]: samples_lib.to_target_layout(run[spec["source_name"]], spec) for spec in inputs}
        for run in feeding.runs(arrays, [{**spec, "name": spec["source_name"]} for spec in inputs], batched=False)
    ]
    try:
        every_layer = AdvancedQuantizationParameters(overflow_fix=OverflowFix.ENABLE)
        return nncf.quantize(model, nncf.Dataset(runs), subset_size=len(runs), advanced_parameters=every_layer), False
    except Exception as exc:  # NNCF names the node it could not handle
        raise StageError(f"NNCF could not quantize the IR: {str(exc).strip().splitlines()[-1]}") from None


MODES = {"fp16": _fp16, "int8": _int8}


def run(ctx: StageContext) -> dict:
    import openvino as ov

    mode = ctx.option("mode")
    if mode not in MODES:
        raise StageError(f"unknown OpenVINO quantization mode {mode!r}; choose one of {', '.join(MODES)}")
    source = ctx.source
    manifest = source.inherited()
    model, fp16_weights = MODES[mode](ctx, ov.Core().read_model(str(source.file("model") / ir.XML)))
    folder = ctx.out / f"openvino_{mode}"
    ir.save(model, folder, fp16_weights=fp16_weights)
    return {
        **manifest,
        "format": "openvino",
        "precision": mode,
        "files": {"model": folder.name, **source.carry_to(ctx.out)},
        "metrics": {"bytes": ir.size(folder)},
    }
