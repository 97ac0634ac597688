"""Float TFLite files as a source: to ONNX, or taken as the TFLite artifact as they are."""

from stages.impl import Impl
from stages.sources import Source

IMPLS = (
    Impl(
        "load",
        "tflite",
        "tf",
        "stages.tflite_source.load",
        ("tflite-file",),
        "tflite-source",
        "float TFLite file (.tflite); LiteRT computes golden",
    ),
    Impl(
        "export", "tflite", "tf", "stages.tflite_source.export", ("tflite-source",), "onnx", "TFLite -> ONNX (tf2onnx)"
    ),
    Impl(
        "emit",
        "tflite-as-is",
        "tf",
        "stages.tflite_source.as_is",
        ("tflite-source",),
        "tflite",
        "a TFLite source as the TFLite artifact, validated, not converted",
        quantizable=False,
        as_is=True,
    ),
)
SOURCES = (Source("tflite", "tflite-file", "TFLite", ("*.tflite",)),)
