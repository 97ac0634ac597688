"""TFLite as a target: quantized, and run in LiteRT."""

from stages.impl import Impl

IMPLS = (
    Impl(
        "quantize",
        "tflite",
        "tf",
        "stages.tflite.quantize",
        ("tflite",),
        "tflite",
        "TFLite fp16, dynamic-range and full-int8",
        options=("fp16", "dynamic", "int8"),
    ),
    Impl(
        "validate",
        "tflite",
        "tf",
        "stages.validate.stage",
        ("tflite",),
        "parity",
        "TFLite in LiteRT against the source's golden outputs",
        runner="stages.tflite.runner",
    ),
)
TARGETS = {"tflite": "tflite"}
