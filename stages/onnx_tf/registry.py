"""onnx-tf 1.10: ONNX's semantics op for op, no layout guesses; it reads opset 11, in TF 2.15.1 of its own."""

from stages.impl import Impl

IMPLS = (
    Impl(
        "emit",
        "onnx-tf",
        "onnxtf",
        "stages.onnx_tf.emit",
        ("onnx-opset11",),
        "savedmodel",
        "ONNX (opset 11) -> TF SavedModel with onnx-tf 1.10, channels-first kept",
        preference=3,
    ),
)
