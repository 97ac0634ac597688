"""MXNet checkpoints: read, repaired by graph surgery, exported to ONNX."""
from stages.impl import Impl

IMPLS = (
    Impl("load", "mxnet", "mxnet", "stages.mxnet.load", ("mxnet-checkpoint",), "mxnet",
         "MXNet checkpoint (prefix-symbol.json + prefix-NNNN.params)"),
    Impl("surgery", "mxnet", "mxnet", "stages.mxnet.surgery", ("mxnet",), "mxnet",
         "strip baked-in preprocessing, rename params, cut at a layer, fix_gamma"),
    Impl("export", "mxnet", "mxnet", "stages.mxnet.export", ("mxnet",), "onnx",
         "MXNet -> ONNX with the exporter's known faults repaired"),
)
SOURCES = {"mxnet": "mxnet-checkpoint"}
