"""onnx2tf 2: ONNX -> TFLite by its flatbuffer_direct backend, which writes the FlatBuffer from ONNX itself
(no TensorFlow): the preferred route to a float TFLite file. Its runtime runs on Python 3.13
(images/onnx2tf2/python.txt). Where it fails or misses the gate, onnx2tf 1 through a SavedModel and TF's
converter is next (stages/onnx2tf), then modelferry's own translation. A quantized TFLite file is made
by TF's converter from a SavedModel, so it comes from those routes."""

from stages.impl import Impl

IMPLS = (
    Impl(
        "emit",
        "onnx2tf-direct",
        "onnx2tf2",
        "stages.onnx2tf2.emit",
        ("onnx",),
        "tflite",
        "ONNX -> TFLite fp32, channels-last, written directly by onnx2tf 2 (flatbuffer_direct, no TensorFlow)",
        quantizable=False,
    ),
)
