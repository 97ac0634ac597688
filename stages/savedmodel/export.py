"""export/savedmodel: TF SavedModel -> ONNX with tf2onnx (its command line, on the chosen signature)."""
from __future__ import annotations

from stages import tf2onnx_cli
from stages.context import StageContext
from stages.match import renamed

TOOLS = ("tf2onnx", "tensorflow-cpu", "onnx")


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    key = source.manifest.get("signature") or ctx.option("signature") or "serving_default"
    opset = int(ctx.option("opset", 13))
    proto = tf2onnx_cli.convert(["--saved-model", str(source.file("model")), "--signature_def", key],
                                ctx.out / "model.onnx", ctx.user_file_name("model"), opset)
    by_source = {spec["source_name"]: spec for spec in manifest["outputs"]}
    outputs = []
    for value, spec in zip(proto.graph.output, manifest["outputs"]):
        # tf2onnx names outputs after the signature's keys where it can ("logits:0" or "logits").
        matched = by_source.get(value.name.split(":")[0], spec)
        outputs.append({**matched, "name": value.name})
    manifest["inputs"] = renamed(manifest["inputs"], proto.graph.input)
    manifest["outputs"] = outputs
    return {**manifest, "format": "onnx", "files": {"model": "model.onnx", **source.carry_to(ctx.out)},
            "metrics": {"opset": opset, "nodes": len(proto.graph.node), "signature": key}}
