"""The op registry of modelferry's own ONNX -> TF translation: one small function per ONNX op.

A handler takes the node (its attributes, with ONNX's defaults where the node leaves one out) and its
input tensors (None for an omitted optional input) and returns the node's outputs. Handlers keep
ONNX's semantics and layouts exactly (a Conv stays channels-first, with transposes around TF's
channels-last kernel) and prefer ops that TFLite has as builtins. Modules register in
stages/tfops/table.py on import."""

from __future__ import annotations


def load_all() -> None:
    from stages.tfops.ops import control, detection, elementwise, ml, nn, quantized, recurrent, reduce, shape, training  # noqa: F401
