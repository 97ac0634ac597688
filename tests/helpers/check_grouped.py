"""Run in the tf runtime: which of onnx2tf's SavedModels TFJS needs split (stages/onnx2tf/convert.py,
grouped_convolutions). Two depthwise convolutions (ONNX group = channels): with equal strides onnx2tf makes
a TF depthwise one (none grouped: the one SavedModel serves TFJS); with strides (2, 1), which TF's depthwise
op does not take, a grouped Conv2D (TFJS would refuse it: it is split). A plain convolution is none. Prints
one line per graph; exits 1 when a count is not the expected one."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from stages.onnx2tf import convert


def graph(channels: int, group: int, strides: list[int]) -> onnx.ModelProto:
    weights = np.random.default_rng(0).normal(size=(channels, channels // group, 3, 3)).astype(np.float32)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], group=group, strides=strides, pads=[1, 1, 1, 1], name="conv")
    made = helper.make_graph(
        [conv],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, channels, 16, 16])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weights, "w")],
    )
    return helper.make_model(made, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def grouped(model: onnx.ModelProto, work: Path) -> int:
    path = work / "model.onnx"
    onnx.save(model, path)
    inputs = [{"name": "x", "shape": [1, 8, 16, 16], "dtype": "float32"}]
    built = convert.build(path, work, convert.onnx2tf_options(inputs, {}))
    return convert.save(built, work / "saved_model", ["x"], ["y"])


def main() -> int:
    expected = {"depthwise, strides 1x1": 0, "depthwise, strides 2x1": 1, "plain": 0}
    graphs = {
        "depthwise, strides 1x1": graph(8, 8, [1, 1]),
        "depthwise, strides 2x1": graph(8, 8, [2, 1]),
        "plain": graph(8, 1, [1, 1]),
    }
    wrong = 0
    for name, model in graphs.items():
        with tempfile.TemporaryDirectory() as tmp:
            count = grouped(model, Path(tmp))
        print(f"{name}: {count} grouped")
        wrong += count != expected[name]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
