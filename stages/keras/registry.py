"""Keras models: read in safe mode, exported to ONNX, or to TFLite and SavedModel by TF itself."""

from stages.impl import Impl
from stages.sources import Source

IMPLS = (
    Impl(
        "load",
        "keras",
        "tf",
        "stages.keras.load",
        ("keras-file",),
        "keras",
        "Keras model (.keras, legacy .h5), safe mode unless --trust-custom-code",
    ),
    Impl("export", "keras", "tf", "stages.keras.export", ("keras",), "onnx", "Keras -> ONNX (tf2onnx)"),
    Impl(
        "emit",
        "keras-tflite",
        "tf",
        "stages.keras.tflite",
        ("keras",),
        "tflite",
        "Keras -> TFLite fp32 with TF's TFLiteConverter (no ONNX detour)",
    ),
    Impl(
        "emit",
        "keras-savedmodel",
        "tf",
        "stages.keras.savedmodel",
        ("keras",),
        "savedmodel",
        "Keras -> TF SavedModel with Keras' export()",
    ),
)
SOURCES = (Source("keras", "keras-file", "Keras", ("*.keras", "*.h5", "*.hdf5")),)
