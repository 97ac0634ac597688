"""emit/savedmodel-tflite: TF SavedModel -> TFLite fp32 with TF's own converter (no ONNX detour)."""

from __future__ import annotations

import shutil

from stages.context import StageContext
from stages.contract import signature_of
from stages.tflite import signature
from stages.tflite.convert import from_saved_model

TOOLS = ("tensorflow-cpu", "ai-edge-litert")


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    key = signature_of(source.manifest, ctx.option("signature"))
    size = from_saved_model(source.file("model"), ctx.out / "model_float32.tflite", ctx.user_file_name("model"), key)
    shutil.copytree(source.file("model"), ctx.out / "saved_model")  # quantize converts from it again
    inputs, outputs = signature.describe(ctx.out / "model_float32.tflite", manifest["inputs"], manifest["outputs"])
    files = {"model": "model_float32.tflite", "saved_model": "saved_model", **source.carry_to(ctx.out)}
    return {
        **manifest,
        "format": "tflite",
        "precision": "fp32",
        "files": files,
        "inputs": inputs,
        "outputs": outputs,
        "metrics": {"bytes": size},
    }
