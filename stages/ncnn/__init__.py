"""ncnn: ONNX -> .param + .bin with pnnx, run with the ncnn Python binding (fp32, and an fp16 artifact)."""
