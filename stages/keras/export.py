"""export/keras: Keras -> ONNX with tf2onnx, batch left dynamic, inputs kept channels-last."""

from __future__ import annotations

import onnx

from stages.context import StageContext
from stages.errors import StageError
from stages.keras.model import load
from stages.match import fed, renamed
from stages.onnx.names import own_names

TOOLS = ("tf2onnx", "keras", "tensorflow-cpu", "onnx")


def run(ctx: StageContext) -> dict:
    import tensorflow as tf
    import tf2onnx

    source = ctx.source
    manifest = source.inherited()
    model = load(source.file("model"), ctx.user_file_name("model"), bool(ctx.option("trust_custom_code")))
    opset = int(ctx.option("opset"))
    spec = [tf.TensorSpec([None, *s["shape"][1:]], s["dtype"], name=s["name"]) for s in manifest["inputs"]]
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset)
    except Exception as exc:  # tf2onnx raises many types; the first line names the op
        raise StageError(
            f"tf2onnx could not convert {ctx.user_file_name('model')}: {str(exc).splitlines()[0]}"
        ) from None
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise StageError(f"the exported ONNX model fails onnx.checker: {str(exc).splitlines()[0]}") from None
    onnx.save(proto, ctx.out / "model.onnx")
    manifest["inputs"] = renamed(manifest["inputs"], fed(proto.graph))
    manifest["outputs"] = renamed(manifest["outputs"], proto.graph.output)
    manifest["inputs"], manifest["outputs"] = own_names(proto, manifest["inputs"], manifest["outputs"])
    onnx.save(proto, ctx.out / "model.onnx")
    return {
        **manifest,
        "format": "onnx",
        "files": {"model": "model.onnx", **source.carry_to(ctx.out)},
        "metrics": {"opset": opset, "nodes": len(proto.graph.node)},
    }
