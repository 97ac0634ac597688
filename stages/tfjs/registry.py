"""TFJS models: graph models as a source (rebuilt as a frozen GraphDef, golden outputs from Node.js) and a
target (converted from a SavedModel, quantized, run in Node.js); layers models as a source (rebuilt as a
Keras model, golden outputs from Node.js)."""

from stages.impl import Impl
from stages.sources import Source
from stages.tfjs import source

IMPLS = (
    Impl(
        "load",
        "tfjs",
        "tfjs",
        "stages.tfjs.load",
        ("tfjs-model",),
        "graphdef",
        "TFJS graph model (model.json + shards): golden outputs from Node.js; rebuilt as a frozen GraphDef",
    ),
    Impl(
        "load",
        "tfjs-layers",
        "tfjs",
        "stages.tfjs.layers",
        ("tfjs-layers-model",),
        "keras",
        "TFJS layers model (model.json + shards): golden outputs from Node.js; rebuilt as a Keras model",
    ),
    Impl(
        "emit",
        "tfjs",
        "tfjs",
        "stages.tfjs.emit",
        ("savedmodel",),
        "tfjs",
        "TF SavedModel -> TFJS graph model (tensorflowjs_converter)",
    ),
    Impl(
        "quantize",
        "tfjs",
        "tfjs",
        "stages.tfjs.quantize",
        ("tfjs",),
        "tfjs",
        "TFJS fp16 and uint8 (dynamic) weight quantization",
        options=("fp16", "dynamic"),
    ),
    Impl(
        "validate",
        "tfjs",
        "tfjs",
        "stages.validate.stage",
        ("tfjs",),
        "parity",
        "TFJS graph model in Node.js (@tensorflow/tfjs on its wasm backend) against the source's golden outputs",
        runner="stages.tfjs.runner",
    ),
)
TARGETS = {"tfjs": "tfjs"}
SOURCES = (
    Source(
        "tfjs",
        "tfjs-model",
        "TFJS graph model",
        ("*.json",),
        shown="model.json + its weight shards",
        sniff=source.is_graph,
        resolve=source.resolve,
        companions=source.companions,
    ),
    Source(
        "tfjs-layers",
        "tfjs-layers-model",
        "TFJS layers model",
        ("*.json",),
        shown="model.json with a Keras topology + its weight shards",
        sniff=source.is_layers,
        resolve=source.resolve,
        companions=source.companions,
    ),
)
