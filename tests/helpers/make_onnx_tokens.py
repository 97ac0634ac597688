"""Test helper (tf runtime): a small token classifier (opset 13) with an int64 input, as PyTorch exports
token ids, for the float-only targets (ncnn, Caffe):

  ids int64 [1, 12] -> Gather from an embedding table [50, 16] -> [1, 12, 16] -> Relu -> MatMul [16, 8]
  -> ReduceMean over the tokens -> logits [1, 8]

Random weights (seeded); writes OUT/tokens.onnx.
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
    "table": rng.standard_normal((50, 16)).astype(np.float32),
    "dense": (0.3 * rng.standard_normal((16, 8))).astype(np.float32),
}
nodes = [
    helper.make_node("Gather", ["table", "ids"], ["embedded"], axis=0, name="embed"),
    helper.make_node("Relu", ["embedded"], ["active"], name="relu"),
    helper.make_node("MatMul", ["active", "dense"], ["projected"], name="dense"),
    helper.make_node("ReduceMean", ["projected"], ["logits"], axes=[1], keepdims=0, name="pool"),
]
graph = helper.make_graph(
    nodes,
    "tokens",
    [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 12])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 8])],
    [numpy_helper.from_array(value, name) for name, value in weights.items()],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="modelferry-tests")
onnx.checker.check_model(model, full_check=True)
onnx.save(model, str(out / "tokens.onnx"))
