"""OpenVINO IR: converted from ONNX, quantized (fp16 weights, int8 with NNCF), run on CPU in f32."""

from stages.impl import Impl

IMPLS = (
    Impl(
        "emit",
        "openvino",
        "openvino",
        "stages.openvino.emit",
        ("onnx",),
        "openvino",
        "ONNX -> OpenVINO IR (.xml + .bin, fp32 weights) with openvino.convert_model",
    ),
    Impl(
        "quantize",
        "openvino",
        "openvino",
        "stages.openvino.quantize",
        ("openvino",),
        "openvino",
        "OpenVINO IR with fp16-compressed weights, or int8 with NNCF calibrated on --calibration",
        options=("fp16", "int8"),
    ),
    Impl(
        "validate",
        "openvino",
        "openvino",
        "stages.validate.stage",
        ("openvino",),
        "parity",
        "OpenVINO IR on CPU, inference precision pinned to f32, against the source's golden outputs",
        runner="stages.openvino.runner",
    ),
)
TARGETS = {"openvino": "openvino"}
