"""export/savedmodel: TF SavedModel -> ONNX with tf2onnx (its command line, on the chosen signature)."""

from __future__ import annotations

import onnx

from stages import tf2onnx_cli
from stages.context import StageContext
from stages.contract import signature_of
from stages.match import fed, renamed
from stages.onnx.names import own_names

TOOLS = ("tf2onnx", "tensorflow-cpu", "onnx")


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    key = signature_of(source.manifest, ctx.option("signature"))
    opset = int(ctx.option("opset"))
    proto = tf2onnx_cli.convert(
        ["--saved-model", str(source.file("model")), "--signature_def", key],
        ctx.out / "model.onnx",
        ctx.user_file_name("model"),
        opset,
    )
    manifest["inputs"] = renamed(manifest["inputs"], fed(proto.graph))
    # tf2onnx names outputs after the signature's keys ("logits:0" or "logits")
    manifest["outputs"] = renamed(
        manifest["outputs"],
        proto.graph.output,
        [{s["source_name"], f"{s['source_name']}:0"} for s in manifest["outputs"]],
    )
    manifest["inputs"], manifest["outputs"] = own_names(proto, manifest["inputs"], manifest["outputs"])
    onnx.save(proto, ctx.out / "model.onnx")
    return {
        **manifest,
        "format": "onnx",
        "files": {"model": "model.onnx", **source.carry_to(ctx.out)},
        "metrics": {"opset": tf2onnx_cli.opset_of(proto), "nodes": len(proto.graph.node), "signature": key},
    }
