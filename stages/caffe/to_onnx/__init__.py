"""A Caffe net as ONNX, one handler per layer type (stages/caffe/to_onnx/layers/), exactly or refused
naming the layer."""
