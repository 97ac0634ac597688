"""Test helper (tf runtime): small ONNX models whose inputs are not a float image with the batch first.

  static.onnx     x float32 (3, 4, 5), no batch axis: y = Relu(x)
  gather.onnx     data float32 [N, 10], indices int64 [3] (static): y = Gather(data, indices, axis=1)
  recurrent.onnx  x float32 [N, 16], state float32 [2, N, 8] (batch on axis 1):
                  y = x @ W + sum(state, 0) [N, 8], state_out = 0.5 * state [2, N, 8]
  scalar.onnx     x float32 [N, 4], sr int64 scalar: y = x * sr / 16000
  sequence.onnx   x float32 [N, 3, 32] (a 1-D signal, channels first): y = Conv1d(x) [N, 2, 30]
Each with the opset onnx2tf and ONNX Runtime both take (13); writes to OUT.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
F, I64 = TensorProto.FLOAT, TensorProto.INT64


def save(name, nodes, inputs, outputs, weights=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, [numpy_helper.from_array(w, n) for n, w in weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(out / f"{name}.onnx"))


save(
    "static",
    [helper.make_node("Relu", ["x"], ["y"])],
    [helper.make_tensor_value_info("x", F, [3, 4, 5])],
    [helper.make_tensor_value_info("y", F, [3, 4, 5])],
)
save(
    "gather",
    [helper.make_node("Gather", ["data", "indices"], ["y"], axis=1)],
    [helper.make_tensor_value_info("data", F, ["N", 10]), helper.make_tensor_value_info("indices", I64, [3])],
    [helper.make_tensor_value_info("y", F, ["N", 3])],
)
save(
    "recurrent",
    [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("ReduceSum", ["state", "axes"], ["summed"], keepdims=0),
        helper.make_node("Add", ["xw", "summed"], ["y"]),
        helper.make_node("Mul", ["state", "half"], ["state_out"]),
    ],
    [helper.make_tensor_value_info("x", F, ["N", 16]), helper.make_tensor_value_info("state", F, [2, "N", 8])],
    [helper.make_tensor_value_info("y", F, ["N", 8]), helper.make_tensor_value_info("state_out", F, [2, "N", 8])],
    [
        ("W", rng.standard_normal((16, 8)).astype(np.float32)),
        ("axes", np.array([0], dtype=np.int64)),
        ("half", np.array(0.5, dtype=np.float32)),
    ],
)
save(
    "scalar",
    [
        helper.make_node("Cast", ["sr"], ["srf"], to=F),
        helper.make_node("Div", ["srf", "base"], ["ratio"]),
        helper.make_node("Mul", ["x", "ratio"], ["y"]),
    ],
    [helper.make_tensor_value_info("x", F, ["N", 4]), helper.make_tensor_value_info("sr", I64, [])],
    [helper.make_tensor_value_info("y", F, ["N", 4])],
    [("base", np.array(16000.0, dtype=np.float32))],
)
save(
    "sequence",
    [helper.make_node("Conv", ["x", "K"], ["y"])],
    [helper.make_tensor_value_info("x", F, ["N", 3, 32])],
    [helper.make_tensor_value_info("y", F, ["N", 2, 30])],
    [("K", rng.standard_normal((2, 3, 3)).astype(np.float32))],
)
print("wrote", sorted(p.name for p in out.glob("*.onnx")))
