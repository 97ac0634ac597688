"""Test helper (any runtime with onnx): an ONNX model ONNX Runtime runs and the PyTorch emitter must refuse,
naming the op and the node, rather than guess.

  branch.onnx  x float32 [N, 4]: y = If(ReduceSum(x) > 0, node `choose`) of Relu(x) or Neg(x): control
               flow on the data, which a straight-line torch.fx graph does not hold.
Writes to OUT.
"""

import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])


def branch(op: str):
    return helper.make_graph(
        [helper.make_node(op, ["x"], [f"y_{op}"])],
        f"{op}_branch",
        [],
        [helper.make_tensor_value_info(f"y_{op}", TensorProto.FLOAT, ["N", 4])],
    )


nodes = [
    helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0, name="total"),
    helper.make_node("Constant", [], ["zero"], value_float=0.0, name="zero"),
    helper.make_node("Greater", ["total", "zero"], ["positive"], name="positive"),
    helper.make_node("If", ["positive"], ["y"], then_branch=branch("Relu"), else_branch=branch("Neg"), name="choose"),
]
graph = helper.make_graph(nodes, "branch", [x], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
onnx.checker.check_model(model, full_check=True)
onnx.save(model, str(out / "branch.onnx"))
print("wrote", sorted(p.name for p in out.glob("*.onnx")))
