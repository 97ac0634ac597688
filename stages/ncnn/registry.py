"""ncnn: ONNX -> .param + .bin with pnnx or written by modelferry, fp16 storage as a quantize mode, run with
the ncnn binding."""

from stages.impl import Impl

IMPLS = (
    Impl(
        "emit",
        "ncnn",
        "ncnn",
        "stages.ncnn.emit",
        ("onnx",),
        "ncnn",
        "ONNX -> ncnn .param + .bin (fp32 weights) with pnnx, blobs mapped back to the model's names",
    ),
    Impl(
        "emit",
        "ncnn-own",
        "ncnn",
        "stages.ncnn.own",
        ("onnx",),
        "ncnn",
        "ONNX -> ncnn .param + .bin written by modelferry layer by layer (after pnnx), the model's blob names",
        preference=1,
    ),
    Impl(
        "quantize",
        "ncnn",
        "ncnn",
        "stages.ncnn.quantize",
        ("ncnn",),
        "ncnn",
        "ncnn with fp16 weights, run with fp16 storage and arithmetic",
        options=("fp16",),
    ),
    Impl(
        "validate",
        "ncnn",
        "ncnn",
        "stages.validate.stage",
        ("ncnn",),
        "parity",
        "ncnn in its Python binding (fp16 storage and arithmetic off for fp32) against the source's golden outputs",
        runner="stages.ncnn.runner",
    ),
)
TARGETS = {"ncnn": "ncnn"}
