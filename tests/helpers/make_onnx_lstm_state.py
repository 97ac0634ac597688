"""Test helper (tf runtime): LSTMs that carry their state in and out, as streaming models do (opset 14),
random weights (seeded):

  lstm_step.onnx     x [1, 1, 8] (one step), h [1, 1, 16], c [1, 1, 16] -> LSTM (forward) -> h_out, c_out
                     (Y unread): pnnx leaves it as ONNX's LSTM; modelferry writes ncnn's LSTM layer
  lstm_reverse.onnx  x [4, 1, 8] (four steps), the same states -> LSTM (reverse) -> h_out, c_out: no form
                     of ncnn's LSTM that pnnx or modelferry writes; ncnn's loader refuses the layer

Writes to OUT.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
HIDDEN, FEATURES = 16, 8
weights = {
    "W": rng.standard_normal((1, 4 * HIDDEN, FEATURES)),
    "R": rng.standard_normal((1, 4 * HIDDEN, HIDDEN)),
    "B": rng.standard_normal((1, 8 * HIDDEN)),
}
for name, steps, direction in (("lstm_step", 1, "forward"), ("lstm_reverse", 4, "reverse")):
    node = helper.make_node(
        "LSTM",
        ["x", "W", "R", "B", "", "h", "c"],
        ["", "h_out", "c_out"],
        name="lstm",
        hidden_size=HIDDEN,
        direction=direction,
    )
    state = [1, 1, HIDDEN]
    graph = helper.make_graph(
        [node],
        name,
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, 1, FEATURES]),
            helper.make_tensor_value_info("h", TensorProto.FLOAT, state),
            helper.make_tensor_value_info("c", TensorProto.FLOAT, state),
        ],
        [
            helper.make_tensor_value_info("h_out", TensorProto.FLOAT, state),
            helper.make_tensor_value_info("c_out", TensorProto.FLOAT, state),
        ],
        [numpy_helper.from_array((0.3 * value).astype(np.float32), key) for key, value in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(out / f"{name}.onnx"))
print("wrote", sorted(p.name for p in out.glob("*.onnx")))
