"""export/graphdef: frozen TF GraphDef -> ONNX with tf2onnx, between the load stage's nodes."""

from __future__ import annotations

import onnx

from stages import tf2onnx_cli
from stages.context import StageContext
from stages.match import fed, renamed
from stages.onnx.names import own_names

TOOLS = ("tf2onnx", "tensorflow-cpu", "onnx")


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    opset = int(ctx.option("opset"))
    tensors = (
        [f"{spec['name']}:0" for spec in manifest["inputs"]],
        [f"{spec['name']}:0" for spec in manifest["outputs"]],
    )
    proto = tf2onnx_cli.convert(
        ["--graphdef", str(source.file("model")), "--inputs", ",".join(tensors[0]), "--outputs", ",".join(tensors[1])],
        ctx.out / "model.onnx",
        ctx.user_file_name("model"),
        opset,
    )
    manifest["inputs"] = renamed(manifest["inputs"], fed(proto.graph))
    manifest["outputs"] = renamed(manifest["outputs"], proto.graph.output)
    manifest["inputs"], manifest["outputs"] = own_names(proto, manifest["inputs"], manifest["outputs"])
    onnx.save(proto, ctx.out / "model.onnx")
    return {
        **manifest,
        "format": "onnx",
        "files": {"model": "model.onnx", **source.carry_to(ctx.out)},
        "metrics": {"opset": tf2onnx_cli.opset_of(proto), "nodes": len(proto.graph.node)},
    }
