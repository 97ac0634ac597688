"""Test helper (tf runtime): a small decoder-shaped ONNX model (opset 13) with what the MXNet, Caffe and ncnn
emitters take only through ONNX legalization or an exact composition:

  x [1, 3, 32, 32] -> YOLOv5's Focus (four strided Slices, Concat) [1, 12, 16, 16] -> Conv 3x3 + Relu
  -> Resize nearest x2 (asymmetric, floor: PaddleOCR's) -> ConvTranspose 2x2 stride 2 -> Relu
  -> Resize nearest x2 (half_pixel, round_prefer_floor: PyTorch's default export) -> Slice [.., 4:60, 2:62]
  -> y [1, 8, 56, 60]

Random weights (seeded); writes OUT/upsample.onnx.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
END = np.iinfo(np.int64).max
weights = {
    "conv_w": rng.standard_normal((16, 12, 3, 3)).astype(np.float32) * 0.2,
    "conv_b": rng.standard_normal(16).astype(np.float32) * 0.1,
    "deconv_w": rng.standard_normal((16, 8, 2, 2)).astype(np.float32) * 0.3,
    "deconv_b": rng.standard_normal(8).astype(np.float32) * 0.1,
    "scales": np.array([1, 1, 2, 2], np.float32),
    "phase0": np.array([0, 0], np.int64),
    "phase_h": np.array([1, 0], np.int64),
    "phase_w": np.array([0, 1], np.int64),
    "phase_hw": np.array([1, 1], np.int64),
    "ends": np.array([END, END], np.int64),
    "hw": np.array([2, 3], np.int64),
    "steps": np.array([2, 2], np.int64),
    "crop_start": np.array([4, 2], np.int64),
    "crop_end": np.array([60, 62], np.int64),
}
nodes = [
    helper.make_node("Slice", ["x", start, "ends", "hw", "steps"], [f"focus_{i}"], name=f"focus_{i}")
    for i, start in enumerate(("phase0", "phase_h", "phase_w", "phase_hw"))
]
nodes += [
    helper.make_node("Concat", [f"focus_{i}" for i in range(4)], ["focused"], axis=1, name="focus"),
    helper.make_node("Conv", ["focused", "conv_w", "conv_b"], ["conv"], pads=[1, 1, 1, 1], name="conv"),
    helper.make_node("Relu", ["conv"], ["conv_relu"], name="conv_relu"),
    helper.make_node(
        "Resize",
        ["conv_relu", "", "scales"],
        ["up1"],
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
        name="up1",
    ),
    helper.make_node("ConvTranspose", ["up1", "deconv_w", "deconv_b"], ["deconv"], strides=[2, 2], name="deconv"),
    helper.make_node("Relu", ["deconv"], ["deconv_relu"], name="deconv_relu"),
    helper.make_node("Resize", ["deconv_relu", "", "scales"], ["up2"], mode="nearest", name="up2"),
    helper.make_node("Slice", ["up2", "crop_start", "crop_end", "hw"], ["y"], name="crop"),
]
graph = helper.make_graph(
    nodes,
    "upsample",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 56, 60])],
    [numpy_helper.from_array(w, n) for n, w in weights.items()],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
onnx.checker.check_model(model, full_check=True)
onnx.save(model, str(out / "upsample.onnx"))
