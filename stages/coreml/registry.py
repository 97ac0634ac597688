"""Core ML ML programs (.mlpackage): converted by coremltools 9 from the route's PyTorch program (every source
reaches Core ML through ONNX -> PyTorch), fp16 as a quantize mode, and validated on Linux by modelferry's own
numpy interpreter of the saved ML program (Core ML itself exists only on macOS).

A validate row that runs in Core ML itself needs a macOS worker: it would be a second validate row for
`coreml` whose runner calls `MLModel.predict`, in a runtime whose image only a macOS work pool can run.
Rows cannot yet ask for a kind of worker, so it is not declared here (see docs/formats.md, Core ML)."""

from stages.impl import Impl

IMPLS = (
    Impl(
        "emit",
        "coreml",
        "coreml",
        "stages.coreml.emit",
        ("pytorch",),
        "coreml",
        "PyTorch (TorchScript) -> Core ML ML program (.mlpackage, fp32) with coremltools",
    ),
    Impl(
        "quantize",
        "coreml",
        "coreml",
        "stages.coreml.quantize",
        ("coreml",),
        "coreml",
        "Core ML ML program computed in fp16 (coremltools' fp16 compute-precision pass)",
        options=("fp16",),
    ),
    Impl(
        "validate",
        "coreml",
        "coreml",
        "stages.validate.stage",
        ("coreml",),
        "parity",
        "Core ML ML program in modelferry's MIL interpreter (numpy, fp32 math) against the source's golden outputs",
        runner="stages.coreml.runner",
    ),
)
TARGETS = {"coreml": "coreml"}
