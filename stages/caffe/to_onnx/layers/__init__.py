"""The handlers, one module per family of Caffe layers; importing this package registers them all."""

from stages.caffe.to_onnx.layers import activation, combine, conv, norm, pool, shape  # noqa: F401
