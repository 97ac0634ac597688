"""Run in the tf runtime, with TensorFlow imported first as in every stage there: stages/onnx2tf/simplify.py
against what onnx2tf itself runs (the `onnxsim` command three times with the same input shapes) on a graph
with foldable constants and a batch-norm after a convolution; the two files must be the same bytes and
simpler than the input; a graph with Einsum is left to onnx2tf. Then a file onnxsim cannot read must be
left as it was, with run() saying False. Exits 1 on any difference."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import tensorflow  # noqa: F401  (first, as in a stage: onnxsim's C++ crashes in such a process)
from onnx import helper, numpy_helper

from stages.onnx2tf import simplify


def graph() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    weights = {
        "w": rng.normal(size=(4, 3, 3, 3)).astype(np.float32),
        "scale": rng.uniform(0.5, 2, 4).astype(np.float32),
        "bias": rng.normal(size=4).astype(np.float32),
        "mean": rng.normal(size=4).astype(np.float32),
        "var": rng.uniform(0.5, 2, 4).astype(np.float32),
        "a": np.ones((1, 4, 1, 1), np.float32),
        "b": np.full((1, 4, 1, 1), 2, np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["n"], name="bn"),
        helper.make_node("Add", ["a", "b"], ["ab"], name="folded"),  # constants only: onnxsim folds it
        helper.make_node("Mul", ["n", "ab"], ["y"], name="mul"),
    ]
    made = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 4, 8, 8])],
        [numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    return helper.make_model(made, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def main() -> int:
    work = Path(tempfile.mkdtemp())
    ours, theirs = work / "ours.onnx", work / "theirs.onnx"
    onnx.save(graph(), ours)
    shutil.copyfile(ours, theirs)
    shapes = ["x:1,3,8,8"]
    onnxsim = Path(sys.executable).parent / "onnxsim"
    for _ in range(3):  # onnx2tf's own three passes
        subprocess.run([str(onnxsim), str(theirs), str(theirs), "--overwrite-input-shape", *shapes], check=True)
    wrong = []
    if not simplify.run(ours, shapes):
        wrong.append("simplify.run said it could not simplify the graph")
    if ours.read_bytes() != theirs.read_bytes():
        wrong.append("simplify.run's file is not the file of onnxsim run three times")
    nodes = [n.op_type for n in onnx.load(str(ours)).graph.node]
    if nodes != ["Conv", "Mul"] and nodes != ["Conv"]:
        wrong.append(f"the graph was not simplified: {nodes}")
    if not simplify.applies(theirs):
        wrong.append("simplify.applies refused a graph onnx2tf simplifies only once")
    einsum = graph()
    einsum.graph.node.append(helper.make_node("Einsum", ["y", "y"], ["z"], equation="bchw,bchw->bc", name="e"))
    onnx.save(einsum, work / "einsum.onnx")
    if simplify.applies(work / "einsum.onnx"):
        wrong.append("simplify.applies took a graph with Einsum, which onnx2tf simplifies again itself")
    broken = work / "broken.onnx"
    broken.write_bytes(b"not a model")
    if simplify.run(broken, shapes) or broken.read_bytes() != b"not a model":
        wrong.append("a file onnxsim cannot read was not left as it was")
    print("\n".join(wrong) or f"simplified as onnx2tf does: {nodes}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
