"""OpenVINO: ONNX -> IR (.xml + .bin), run on CPU with the inference precision pinned to f32."""
