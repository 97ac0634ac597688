"""export/savedmodel: TF SavedModel -> ONNX with tf2onnx (its command line, on the chosen signature)."""
from __future__ import annotations

import subprocess
import sys

import onnx

from stages.context import StageContext
from stages.errors import StageError

TOOLS = ("tf2onnx", "tensorflow-cpu", "onnx")


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    key = ctx.option("signature") or "serving_default"
    opset = int(ctx.option("opset", 13))
    out = ctx.out / "model.onnx"
    done = subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(source.file("model")),
                           "--signature_def", key, "--opset", str(opset), "--output", str(out)],
                          capture_output=True, text=True)
    if done.returncode != 0 or not out.is_file():
        errors = [line for line in done.stderr.splitlines() if "Error" in line] or done.stderr.splitlines()[-1:]
        print(done.stderr[-4000:], file=sys.stderr)
        raise StageError(f"tf2onnx could not convert {ctx.user_file_name('model')}: {' '.join(errors[-1:])}")
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto)
    by_source = {spec["source_name"]: spec for spec in manifest["outputs"]}
    outputs = []
    for value, spec in zip(proto.graph.output, manifest["outputs"]):
        # tf2onnx names outputs after the signature's keys where it can ("logits:0" or "logits").
        matched = by_source.get(value.name.split(":")[0], spec)
        outputs.append({**matched, "name": value.name})
    manifest["inputs"] = [{**spec, "name": value.name} for value, spec in zip(proto.graph.input, manifest["inputs"])]
    manifest["outputs"] = outputs
    return {**manifest, "format": "onnx", "files": {"model": "model.onnx", **source.carry_to(ctx.out)},
            "metrics": {"opset": opset, "nodes": len(proto.graph.node), "signature": key}}
