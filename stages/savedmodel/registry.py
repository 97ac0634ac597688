"""TF SavedModels: a source (to ONNX, or to TFLite by TF itself) and a target run in TensorFlow."""

from stages.impl import Impl
from stages.options import Option
from stages.savedmodel import source
from stages.sources import FOLDER, Source

IMPLS = (
    Impl(
        "load",
        "savedmodel",
        "tf",
        "stages.savedmodel.load",
        ("savedmodel-dir",),
        "savedmodel",
        "TF SavedModel directory (--signature, default serving_default)",
    ),
    Impl(
        "export",
        "savedmodel",
        "tf",
        "stages.savedmodel.export",
        ("savedmodel",),
        "onnx",
        "TF SavedModel -> ONNX (tf2onnx)",
    ),
    Impl(
        "emit",
        "savedmodel-tflite",
        "tf",
        "stages.savedmodel.tflite",
        ("savedmodel",),
        "tflite",
        "TF SavedModel -> TFLite fp32 with TF's TFLiteConverter (no ONNX detour)",
    ),
    Impl(
        "validate",
        "savedmodel",
        "tf",
        "stages.validate.stage",
        ("savedmodel",),
        "parity",
        "TF SavedModel in TensorFlow against the source's golden outputs",
        runner="stages.savedmodel.runner",
    ),
)
SOURCES = (
    Source(
        "savedmodel",
        "savedmodel-dir",
        "TF SavedModel",
        (FOLDER, source.PROTO),
        shown="a folder with saved_model.pb",
        entries=(FOLDER,),
        sniff=source.sniff,
        resolve=source.resolve,
    ),
)
TARGETS = {"savedmodel": "savedmodel"}
OPTIONS = (
    Option(
        "signature", "text", "TF SavedModel sources: the signature (default serving_default).", stages=("load",)
    ),  # the load stage records it; the stages after it read the manifest
    Option(
        "tags",
        "names",
        "TF SavedModel sources: the tag set of the meta graph to read, comma-separated "
        "(default serve, else the only one; a TF1 model's train, eval …).",
        stages=("load",),
    ),
)
