"""Test helper (any runtime with onnx): an ONNX model that ONNX Runtime runs and the PyTorch emitter converts,
but coremltools cannot take to Core ML (it has no conversion for torch's bitwise_xor).

  xor.onnx  x float32 [N, 4]: y = x + Cast(BitwiseXor(Cast(x, int32), 5), float32)   (node `scramble`)
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
nodes = [
    helper.make_node("Cast", ["x"], ["whole"], to=TensorProto.INT32, name="whole"),
    helper.make_node("Constant", [], ["five"], value=helper.make_tensor("five", TensorProto.INT32, [], [5])),
    helper.make_node("BitwiseXor", ["whole", "five"], ["scrambled"], name="scramble"),
    helper.make_node("Cast", ["scrambled"], ["back"], to=TensorProto.FLOAT, name="back"),
    helper.make_node("Add", ["x", "back"], ["y"], name="y"),
]
model = helper.make_model(
    helper.make_graph(nodes, "xor", [x], [y]), opset_imports=[helper.make_opsetid("", 18)], ir_version=8
)
onnx.checker.check_model(model, full_check=True)
onnx.save(model, str(out / "xor.onnx"))
print("wrote", out / "xor.onnx")
