"""Test helper (tf runtime): a small attention block (opset 13), the shape of PaddleOCR's SVTR mixer, with
what BVLC Caffe has no layer for and the Caffe emitter composes:

  x [1, 8, 4, 6] -> AveragePool 3x3 with asymmetric pads, leaving the padding out of each average (TF's
  SAME) -> Reshape [1, 8, 24] -> Transpose [1, 24, 8] (tokens)
  -> LayerNorm written out: ReduceMean on the last axis, Sub and Div broadcast, Pow 2, Sqrt, a gamma per feature
  -> q, k, v (MatMul by constants) -> scores = q @ k^T (two computed tensors) -> Softmax -> @ v
  -> Max with a constant -> y: ReduceSum over the tokens (not the last axis) [1, 8]
                         -> z: Transpose back [1, 8, 24]

Random weights (seeded); writes OUT/attention.onnx.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
weights = {
    "tokens": np.array([1, 8, 24], np.int64),
    "eps": np.array(1e-5, np.float32),
    "two": np.array(2.0, np.float32),
    "gamma": (1 + 0.1 * rng.standard_normal(8)).astype(np.float32),
    "wq": (0.4 * rng.standard_normal((8, 8))).astype(np.float32),
    "wk": (0.4 * rng.standard_normal((8, 8))).astype(np.float32),
    "wv": (0.4 * rng.standard_normal((8, 8))).astype(np.float32),
    "floor": np.array([-0.1], np.float32),
    "token_axis": np.array([1], np.int64),
}
nodes = [
    helper.make_node("AveragePool", ["x"], ["pooled"], kernel_shape=[3, 3], pads=[0, 0, 2, 2], name="pool_same"),
    helper.make_node("Reshape", ["pooled", "tokens"], ["flat"], name="flat"),
    helper.make_node("Transpose", ["flat"], ["seq"], perm=[0, 2, 1], name="to_tokens"),
    helper.make_node("ReduceMean", ["seq"], ["mean"], axes=[-1], name="mean"),
    helper.make_node("Sub", ["seq", "mean"], ["centered"], name="center"),
    helper.make_node("Pow", ["centered", "two"], ["squared"], name="square"),
    helper.make_node("ReduceMean", ["squared"], ["var"], axes=[-1], name="var"),
    helper.make_node("Add", ["var", "eps"], ["var_eps"], name="var_eps"),
    helper.make_node("Sqrt", ["var_eps"], ["std"], name="std"),
    helper.make_node("Div", ["centered", "std"], ["normed"], name="normalize"),
    helper.make_node("Mul", ["normed", "gamma"], ["scaled"], name="gamma"),
    helper.make_node("MatMul", ["scaled", "wq"], ["q"], name="q"),
    helper.make_node("MatMul", ["scaled", "wk"], ["k"], name="k"),
    helper.make_node("MatMul", ["scaled", "wv"], ["v"], name="v"),
    helper.make_node("Transpose", ["k"], ["k_t"], perm=[0, 2, 1], name="k_t"),
    helper.make_node("MatMul", ["q", "k_t"], ["scores"], name="scores"),
    helper.make_node("Softmax", ["scores"], ["attention"], axis=-1, name="softmax"),
    helper.make_node("MatMul", ["attention", "v"], ["mixed"], name="mix"),
    helper.make_node("Max", ["mixed", "floor"], ["floored"], name="floor"),
    helper.make_node("ReduceSum", ["floored", "token_axis"], ["y"], keepdims=0, name="pool"),
    helper.make_node("Transpose", ["floored"], ["z"], perm=[0, 2, 1], name="to_channels"),
]
graph = helper.make_graph(
    nodes,
    "attention",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 4, 6])],
    [
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8]),
        helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 8, 24]),
    ],
    [numpy_helper.from_array(value, name) for name, value in weights.items()],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="modelferry-tests")
onnx.checker.check_model(model, full_check=True)
onnx.save(model, str(out / "attention.onnx"))
