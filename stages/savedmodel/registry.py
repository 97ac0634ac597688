"""TF SavedModels: a source (to ONNX, or to TFLite by TF itself) and a target run in TensorFlow."""
from stages.impl import Impl

IMPLS = (
    Impl("load", "savedmodel", "tf", "stages.savedmodel.load", ("savedmodel-dir",), "savedmodel",
         "TF SavedModel directory (--signature, default serving_default)"),
    Impl("export", "savedmodel", "tf", "stages.savedmodel.export", ("savedmodel",), "onnx",
         "TF SavedModel -> ONNX (tf2onnx)"),
    Impl("emit", "savedmodel-tflite", "tf", "stages.savedmodel.tflite", ("savedmodel",), "tflite",
         "TF SavedModel -> TFLite fp32 with TF's TFLiteConverter (no ONNX detour)"),
    Impl("validate", "savedmodel", "tf", "stages.validate.stage", ("savedmodel",), "parity",
         "TF SavedModel in TensorFlow against the source's golden outputs", runner="stages.savedmodel.runner"),
)
SOURCES = {"savedmodel": "savedmodel-dir"}
TARGETS = {"savedmodel": "savedmodel"}
