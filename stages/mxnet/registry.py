"""MXNet: checkpoints read, repaired by graph surgery and exported to ONNX; and MXNet as a target, emitted
from ONNX op by op and run in MXNet."""

from stages.impl import Impl
from stages.mxnet import source
from stages.options import Option
from stages.sources import PREFIX, Source

IMPLS = (
    Impl(
        "load",
        "mxnet",
        "mxnet",
        "stages.mxnet.load",
        ("mxnet-checkpoint",),
        "mxnet",
        "MXNet checkpoint (prefix-symbol.json + prefix-NNNN.params)",
    ),
    Impl(
        "surgery",
        "mxnet",
        "mxnet",
        "stages.mxnet.surgery",
        ("mxnet",),
        "mxnet",
        "strip baked-in preprocessing, rename params, cut at a layer, fix_gamma",
    ),
    Impl(
        "export",
        "mxnet",
        "mxnet",
        "stages.mxnet.export",
        ("mxnet",),
        "onnx",
        "MXNet -> ONNX with the exporter's known faults repaired",
    ),
    Impl(
        "emit",
        "mxnet",
        "mxnet",
        "stages.mxnet.emit",
        ("onnx",),
        "mxnet-model",
        "ONNX -> MXNet symbol + params op by op (modelferry): BatchNorm eps, fix_gamma, pooling convention written out",
    ),
    Impl(
        "validate",
        "mxnet",
        "mxnet",
        "stages.validate.stage",
        ("mxnet-model",),
        "parity",
        "MXNet checkpoint in MXNet (inference mode) against the source's golden outputs",
        runner="stages.mxnet.runner",
    ),
)
SOURCES = (
    Source(
        "mxnet",
        "mxnet-checkpoint",
        "MXNet checkpoint",
        ("*-symbol.json", "*.params", PREFIX),
        shown="prefix-symbol.json + prefix-NNNN.params, or the prefix with --epoch",
        entries=("*-symbol.json",),
        sniff=source.sniff,
        resolve=source.resolve,
        companions=source.companions,
        options=("epoch",),
    ),
)
OPTIONS = (
    Option("epoch", "int", "Checkpoint epoch when SOURCE is a prefix."),
    Option(
        "strip_preprocess",
        "flag",
        "Remove baked-in mean/scale ops after the inputs; recorded in the report.",
        stages=("surgery",),
    ),
    Option("rename", "pairs", "old=new: rename a parameter and its node together (repeatable).", stages=("surgery",)),
    Option("output_layer", "text", "Cut the graph at this layer's output (e.g. fc1).", stages=("surgery",)),
)
TARGETS = {"mxnet": "mxnet-model"}
