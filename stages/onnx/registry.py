"""ONNX: a source, the IR every route goes through, and a target run in ONNX Runtime."""

from stages.impl import Impl
from stages.onnx import source
from stages.options import ANY, Option
from stages.sources import Source

IMPLS = (
    Impl(
        "load",
        "onnx",
        "tf",
        "stages.onnx.load",
        ("onnx-file",),
        "onnx",
        "ONNX model (.onnx), checked; --simplify runs onnxsim",
    ),
    # beside the conversion: what only validation needs
    Impl(
        "reference",
        "onnx",
        "tf",
        "stages.onnx.reference",
        ("onnx",),
        "reference",
        "the ONNX source's golden outputs and noise floor in ONNX Runtime, while the converters run",
        idle=True,
    ),
    # for onnx-tf (stages/onnx_tf), which reads opset 11
    Impl(
        "emit",
        "onnx-opset11",
        "tf",
        "stages.onnx.downgrade",
        ("onnx",),
        "onnx-opset11",
        "ONNX -> ONNX at opset 11, op by op (inputs back to attributes, newer ops expanded), for onnx-tf",
    ),
    Impl(
        "validate",
        "onnx",
        "tf",
        "stages.validate.stage",
        ("onnx",),
        "parity",
        "ONNX in ONNX Runtime against the source's golden outputs",
        runner="stages.onnx.runner",
    ),
    # `modelferry inspect`: read, never run
    Impl(
        "inspect",
        "onnx",
        "tf",
        "stages.onnx.inspect",
        ("onnx-file", "onnx"),
        "inspection",
        "ONNX graph read (not run): inputs, outputs, opsets, op histogram, parameters",
    ),
)
SOURCES = (Source("onnx", "onnx-file", "ONNX", ("*.onnx",), resolve=source.resolve, companions=source.companions),)
TARGETS = {"onnx": "onnx"}
OPTIONS = (
    Option("simplify", "flag", "ONNX sources: simplify with onnxsim first.", stages=("load",)),
    Option(
        "opset",
        "int",
        "ONNX opset of the exported graph (every source's export to ONNX).",
        stages=("export",),
        default=13,
        formats=ANY,
    ),
)
