"""Caffe layer type -> the handler that writes it as ONNX nodes (one module per family under layers/), in
the registry every emitter of modelferry's shares (stages/handlers.py)."""

from __future__ import annotations

from stages.handlers import Registry

HANDLERS = Registry("Caffe -> ONNX", reads="Caffe")


def handles(*types: str):
    return HANDLERS.handles(*types)
