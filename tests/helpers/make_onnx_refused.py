"""Test helper (tf runtime): ONNX models that ONNX Runtime runs but modelferry's own ONNX -> TF
translation (stages/tfops) must refuse, naming the node, rather than approximate.

  roialign_adaptive.onnx  x float32 [1, 2, 8, 8]: y = RoiAlign(x, two fixed rois, sampling_ratio=0), node
                          `pool`: ONNX's adaptive sampling (samples per bin from each roi's size) makes
                          the sampling depend on the rois' values, which no static TF graph follows.
Writes to OUT.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)

weights = [
    numpy_helper.from_array(np.array([[0, 0, 4, 4], [2, 1, 7, 6]], dtype=np.float32), "rois"),
    numpy_helper.from_array(np.array([0, 0], dtype=np.int64), "batch_indices"),
]
node = helper.make_node(
    "RoiAlign", ["x", "rois", "batch_indices"], ["y"], name="pool", output_height=2, output_width=2, sampling_ratio=0
)
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2, 2, 2])
graph = helper.make_graph([node], "roialign_adaptive", [x], [y], weights)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
onnx.checker.check_model(model, full_check=True)
onnx.save(model, str(out / "roialign_adaptive.onnx"))
print("wrote", sorted(p.name for p in out.glob("*.onnx")))
