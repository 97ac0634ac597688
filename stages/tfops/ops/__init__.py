"""The op registry of modelferry's own ONNX -> TF translation: one small function per ONNX op.

A handler takes the node (its attributes, with ONNX's defaults where the node leaves one out) and its
input tensors (None for an omitted optional input) and returns the node's outputs. Handlers keep
ONNX's semantics and layouts exactly (a Conv stays channels-first, with transposes around TF's
channels-last kernel) and prefer ops that TFLite has as builtins. Modules register on import."""
from __future__ import annotations

from stages.handlers import Registry

OPS = Registry("ONNX -> TF")


def handler_for(op_type: str, domain: str, version: int | None = None):
    """The handler of an ONNX op at its opset: keyed by its type in the default domain, `domain:type` in
    any other."""
    return OPS.find(op_type, domain, version)


op = OPS.handles   # @op("Relu", since=…, until=…): the name every handler module registers with


def load_all() -> None:
    from stages.tfops.ops import control, detection, elementwise, ml, nn, quantized, recurrent, reduce, shape, training  # noqa: F401
