"""emit/savedmodel-tflite: TF SavedModel -> TFLite fp32 with TF's own converter (no ONNX detour)."""
from __future__ import annotations

import shutil

from stages.context import StageContext
from stages.errors import StageError
from stages.tflite import signature

TOOLS = ("tensorflow-cpu", "ai-edge-litert")


def run(ctx: StageContext) -> dict:
    import tensorflow as tf

    source = ctx.source
    manifest = source.inherited()
    key = source.manifest.get("signature") or ctx.option("signature") or "serving_default"
    try:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(source.file("model")), signature_keys=[key])
        flatbuffer = converter.convert()
    except Exception as exc:  # the converter raises many types; its first line names the op
        raise StageError(f"TFLiteConverter could not convert {ctx.user_file_name('model')}: "
                         f"{str(exc).splitlines()[0]}") from None
    (ctx.out / "model_float32.tflite").write_bytes(flatbuffer)
    shutil.copytree(source.file("model"), ctx.out / "saved_model")  # quantize converts from it again
    inputs, outputs = signature.describe(ctx.out / "model_float32.tflite", manifest["inputs"], manifest["outputs"])
    files = {"model": "model_float32.tflite", "saved_model": "saved_model", **source.carry_to(ctx.out)}
    return {**manifest, "format": "tflite", "precision": "fp32", "files": files,
            "inputs": inputs, "outputs": outputs, "metrics": {"bytes": len(flatbuffer)}}
