"""PyTorch archives (TorchScript, torch.export), read without unpickling, exported to ONNX; and PyTorch as a
target, emitted from ONNX op by op and run as a torch.export program."""

from stages.impl import Impl
from stages.options import Option
from stages.sources import Source

IMPLS = (
    Impl(
        "load",
        "torchscript",
        "torch",
        "stages.torch.load",
        ("torchscript-file",),
        "torchscript",
        "TorchScript archive (.pt, .pth from torch.jit.save); pickled modules are refused",
    ),
    Impl(
        "load",
        "torch-export",
        "torch",
        "stages.torch.load",
        ("torch-export-file",),
        "torch-export",
        "torch.export archive (.pt2 from torch.export.save)",
    ),
    Impl(
        "export",
        "torch",
        "torch",
        "stages.torch.export",
        ("torchscript", "torch-export"),
        "onnx",
        "PyTorch -> ONNX (torch.onnx.export, dynamo)",
    ),
    Impl(
        "emit",
        "pytorch",
        "torch",
        "stages.torch.emit",
        ("onnx",),
        "pytorch",
        "ONNX -> torch.fx GraphModule op by op (modelferry), saved as torch.export .pt2, TorchScript and a state_dict",
    ),
    Impl(
        "validate",
        "pytorch",
        "torch",
        "stages.validate.stage",
        ("pytorch",),
        "parity",
        "PyTorch (.pt2) in torch against the source's golden outputs",
        runner="stages.torch.runner",
    ),
)
SOURCES = (
    Source("torchscript", "torchscript-file", "TorchScript", ("*.pt", "*.pth", "*.jit", "*.torchscript")),
    Source("torch-export", "torch-export-file", "torch.export", ("*.pt2",)),
)
OPTIONS = (
    Option(
        "input_dtype",
        "pairs",
        "TorchScript sources: an input's dtype, which TorchScript does not record "
        "(name:int64, repeated; default float32, or the dtype of the --samples/--calibration array of that name).",
        stages=("load",),
        separator=":",
    ),
)
TARGETS = {"pytorch": "pytorch"}
