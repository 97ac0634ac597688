"""Caffe (BVLC 1.0, Debian bullseye's build): ONNX -> prototxt + caffemodel, one handler per op, run in pycaffe."""
