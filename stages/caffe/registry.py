"""Caffe (BVLC 1.0, Debian bullseye's python3-caffe): ONNX -> prototxt + caffemodel, validated in pycaffe.

The net is written from ONNX in the tf runtime (onnx and numpy, pure Python), then loaded, filled and
saved by pycaffe in the caffe runtime, a container image only (no wheel of Caffe exists)."""
from stages.impl import Impl

IMPLS = (
    Impl("emit", "caffe-net", "tf", "stages.caffe.net", ("onnx",), "caffe-net",
         "ONNX -> Caffe prototxt + weights, one handler per op (modelferry); what Caffe cannot express is refused"),
    Impl("emit", "caffe", "caffe", "stages.caffe.pack", ("caffe-net",), "caffe",
         "Caffe net loaded in pycaffe, weights filled, saved as .caffemodel (BVLC Caffe 1.0, Debian bullseye)"),
    Impl("validate", "caffe", "caffe", "stages.validate.stage", ("caffe",), "parity",
         "Caffe net in pycaffe (CPU) against the source's golden outputs", runner="stages.caffe.runner"),
)
TARGETS = {"caffe": "caffe"}
