"""emit/onnx-tf: ONNX (opset 11) -> TF SavedModel with onnx-tf 1.10, in its own runtime (TF 2.15.1).

The fallback where onnx2tf fails or misses the gate: onnx-tf keeps ONNX's semantics op for op and its
layouts (channels-first stays channels-first, with transposes around each convolution), so it makes
no layout guesses; the price is slower TF graphs. Its SavedModel's signature takes and returns the
graph's tensors by name (made TF-safe first: stages/onnx/names.py)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from stages.context import StageContext
from stages.errors import StageError
from stages.onnx import names
from stages.savedmodel import signature

TOOLS = ("onnx-tf", "tensorflow-cpu", "onnx")
SIGNATURE = "serving_default"


def _reason(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:400]


def run(ctx: StageContext) -> dict:
    import onnx
    from onnx_tf.backend import prepare

    source = ctx.source
    manifest = source.inherited()
    with tempfile.TemporaryDirectory(prefix="onnx-tf-") as tmp:
        path, inputs, outputs = names.safe_copy(source.file("model"), Path(tmp) / "model.onnx",
                                                manifest["inputs"], manifest["outputs"])
        try:
            prepare(onnx.load(str(path))).export_graph(str(ctx.out / "saved_model"))
        except Exception as exc:   # onnx-tf raises whatever its handler or TF raises
            raise StageError(f"onnx-tf could not convert the model: {_reason(exc)}") from None
    inputs, outputs = signature.describe(ctx.out / "saved_model", SIGNATURE, inputs, outputs)
    return {**manifest, "format": "savedmodel", "precision": "fp32", "signature": SIGNATURE,
            "files": {"model": "saved_model", **source.carry_to(ctx.out)}, "inputs": inputs, "outputs": outputs,
            "metrics": {"signature": SIGNATURE}}
