"""modelferry's own ONNX -> TF translation, op by op, ONNX's layouts kept: the first fallback for onnx2tf."""

from stages.impl import Impl

IMPLS = (
    Impl(
        "emit",
        "onnx-tfops",
        "tf",
        "stages.tfops.emit",
        ("onnx",),
        "savedmodel",
        "ONNX -> TF SavedModel op by op with TF's own ops (modelferry), ONNX's layouts kept",
        preference=1,
    ),
)
