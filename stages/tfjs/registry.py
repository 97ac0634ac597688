"""TFJS graph models: converted from a SavedModel, quantized, and run in Node.js."""
from stages.impl import Impl

IMPLS = (
    Impl("emit", "tfjs", "tfjs", "stages.tfjs.emit", ("savedmodel",), "tfjs",
         "TF SavedModel -> TFJS graph model (tensorflowjs_converter)"),
    Impl("quantize", "tfjs", "tfjs", "stages.tfjs.quantize", ("tfjs",), "tfjs",
         "TFJS fp16 and uint8 (dynamic) weight quantization", options=("fp16", "dynamic")),
    Impl("validate", "tfjs", "tfjs", "stages.validate.stage", ("tfjs",), "parity",
         "TFJS graph model in Node.js (pure-JS @tensorflow/tfjs) against the source's golden outputs",
         runner="stages.tfjs.runner"),
)
TARGETS = {"tfjs": "tfjs"}
