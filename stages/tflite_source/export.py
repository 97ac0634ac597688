"""export/tflite: a TFLite file -> ONNX with tf2onnx (--tflite)."""
from __future__ import annotations

import onnx

from stages import tf2onnx_cli
from stages.context import StageContext
from stages.match import renamed
from stages.onnx.names import own_names

TOOLS = ("tf2onnx", "tensorflow-cpu", "onnx")


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    opset = int(ctx.option("opset", 13))
    out = ctx.out / "model.onnx"
    proto = tf2onnx_cli.convert(["--tflite", str(source.file("model"))], out, ctx.user_file_name("model"), opset)
    # TFLite's fused tensor names ("a/Relu;a/BiasAdd") are no TF op names: onnx2tf would stop at them.
    onnx.save(tf2onnx_cli.tidy_names(proto), out)
    # tf2onnx names the graph's tensors after the TFLite file's (made safe by tidy_names).
    for role in ("inputs", "outputs"):
        expected = [{tf2onnx_cli.UNSAFE.sub("_", spec.get("tensor", spec["name"]))} for spec in manifest[role]]
        manifest[role] = renamed(manifest[role], getattr(proto.graph, role[:-1]), expected)
    manifest["inputs"], manifest["outputs"] = own_names(proto, manifest["inputs"], manifest["outputs"])
    onnx.save(proto, ctx.out / "model.onnx")
    return {**manifest, "format": "onnx", "files": {"model": "model.onnx", **source.carry_to(ctx.out)},
            "metrics": {"opset": tf2onnx_cli.opset_of(proto), "nodes": len(proto.graph.node)}}
