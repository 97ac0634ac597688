"""Run only when an artifact misses its gate: the first layer where it leaves its route's ONNX graph."""

from stages.impl import Impl

IMPLS = (
    Impl(
        "diagnose",
        "tflite",
        "tf",
        "stages.diagnose.stage",
        ("tflite",),
        "divergence",
        "TFLite (every tensor LiteRT keeps) layer by layer against the ONNX graph in ONNX Runtime",
    ),
    Impl(
        "diagnose",
        "savedmodel",
        "tf",
        "stages.diagnose.stage",
        ("savedmodel",),
        "divergence",
        "TF SavedModel (every tensor of its frozen graph) layer by layer against the ONNX graph in ONNX Runtime",
    ),
)
