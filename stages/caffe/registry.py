"""Caffe (BVLC 1.0, Debian bullseye's python3-caffe): a source (prototxt + caffemodel, golden outputs from
pycaffe, ONNX from modelferry's own emitter) and a target (ONNX -> prototxt + caffemodel, validated in pycaffe).

Net definitions are read and written in the tf runtime (onnx and numpy, pure Python); pycaffe loads, runs
and saves nets in the caffe runtime, a container image only (no wheel of Caffe exists)."""

from stages.caffe import source
from stages.impl import Impl
from stages.options import Option
from stages.sources import Source

IMPLS = (
    Impl(
        "load",
        "caffe",
        "caffe",
        "stages.caffe.load",
        ("caffe-files",),
        "caffe-source",
        "Caffe net (prototxt + caffemodel) in pycaffe: layers checked, golden outputs, net and weights dumped",
    ),
    Impl(
        "export",
        "caffe",
        "tf",
        "stages.caffe.export",
        ("caffe-source",),
        "onnx",
        "Caffe -> ONNX, one handler per layer type (modelferry); what ONNX cannot say is refused",
    ),
    Impl(
        "emit",
        "caffe-net",
        "tf",
        "stages.caffe.net",
        ("onnx",),
        "caffe-net",
        "ONNX -> Caffe prototxt + weights, one handler per op (modelferry); what Caffe cannot express is refused",
    ),
    Impl(
        "emit",
        "caffe",
        "caffe",
        "stages.caffe.pack",
        ("caffe-net",),
        "caffe",
        "Caffe net loaded in pycaffe, weights filled, saved as .caffemodel (BVLC Caffe 1.0, Debian bullseye)",
    ),
    Impl(
        "validate",
        "caffe",
        "caffe",
        "stages.validate.stage",
        ("caffe",),
        "parity",
        "Caffe net in pycaffe (CPU) against the source's golden outputs",
        runner="stages.caffe.runner",
    ),
)
SOURCES = (
    Source(
        "caffe",
        "caffe-files",
        "Caffe",
        ("*.prototxt", "*.caffemodel"),
        shown="net.prototxt + its .caffemodel, pointed at by either",
        entries=("*.prototxt",),
        sniff=source.sniff,
        resolve=source.resolve,
        companions=source.companions,
        options=("caffemodel",),
    ),
)
OPTIONS = (
    Option(
        "caffemodel",
        "text",
        "Caffe sources: the .caffemodel to use where the prototxt's folder holds several "
        "(a path, relative to the prototxt's folder).",
    ),
)
TARGETS = {"caffe": "caffe"}
