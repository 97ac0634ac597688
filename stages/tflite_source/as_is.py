"""emit/tflite-as-is: a TFLite source is a TFLite artifact already; validated like any other, not converted.

It has no SavedModel, so its quantized variants come from the next route (through ONNX)."""

from __future__ import annotations

import shutil

from stages.context import StageContext
from stages.tflite import signature

TOOLS = ("ai-edge-litert",)


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    shutil.copyfile(source.file("model"), ctx.out / "model_float32.tflite")
    inputs, outputs = signature.describe(ctx.out / "model_float32.tflite", manifest["inputs"], manifest["outputs"])
    files = {"model": "model_float32.tflite", **source.carry_to(ctx.out)}
    return {
        **manifest,
        "format": "tflite",
        "precision": "fp32",
        "files": files,
        "inputs": inputs,
        "outputs": outputs,
        "metrics": {"bytes": (ctx.out / "model_float32.tflite").stat().st_size},
    }
