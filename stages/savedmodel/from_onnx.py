"""emit/onnx-savedmodel: ONNX -> TF SavedModel with onnx2tf (channels-last, signature serving_default)."""
from __future__ import annotations

from stages.context import StageContext
from stages.savedmodel import signature
from stages.tflite.emit import convert_into

TOOLS = ("onnx2tf", "tensorflow-cpu", "onnx")
KEY = "serving_default"


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    # A SavedModel also feeds TFJS, which has no grouped convolutions: onnx2tf splits them.
    safe_inputs, safe_outputs = convert_into(source.file("model"), manifest["inputs"], manifest["outputs"], ctx.out,
                                             portable=True)
    inputs, outputs = signature.describe(ctx.out / "saved_model", KEY, safe_inputs, safe_outputs, moved=True)
    return {**manifest, "format": "savedmodel", "precision": "fp32", "signature": KEY,
            "files": {"model": "saved_model", **source.carry_to(ctx.out)}, "inputs": inputs, "outputs": outputs,
            "metrics": {"signature": KEY}}
