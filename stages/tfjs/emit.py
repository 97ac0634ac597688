"""emit/tfjs: TF SavedModel -> TFJS graph model (model.json + weight shards), fp32.

The SavedModel goes into the bundle too: quantize/tfjs converts it again
with the converter's weight quantization.
"""

from __future__ import annotations

import shutil

from stages.context import StageContext
from stages.contract import SERVING_SIGNATURE
from stages.tfjs import convert

TOOLS = ("tensorflowjs", "tensorflow", "numpy")
MODEL_DIR = "tfjs"


def signature_key(ctx: StageContext) -> str:
    manifest = ctx.source.manifest
    return (
        manifest.get("signature")
        or manifest.get("metrics", {}).get("signature")
        or ctx.option("signature")
        or SERVING_SIGNATURE
    )


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    key = signature_key(ctx)
    # onnx2tf's SavedModel with grouped convolutions split, where it made one: TFJS has no grouped convolutions
    saved_model = source.file("portable_model" if source.has("portable_model") else "model")
    convert.convert(saved_model, ctx.out / MODEL_DIR, key, [], ctx.user_file_name("model"))
    shutil.copytree(saved_model, ctx.out / "saved_model")
    inputs, outputs = convert.describe(ctx.out / MODEL_DIR, manifest["inputs"], manifest["outputs"])
    files = {"model": MODEL_DIR, "saved_model": "saved_model", **source.carry_to(ctx.out)}
    return {
        **manifest,
        "format": "tfjs",
        "precision": "fp32",
        "signature": key,
        "files": files,
        "inputs": inputs,
        "outputs": outputs,
        "metrics": {"bytes": convert.size(ctx.out / MODEL_DIR)},
    }
