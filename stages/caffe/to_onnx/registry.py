"""Caffe layer type -> the handler that writes it as ONNX nodes (one module per family under layers/)."""
from __future__ import annotations

from typing import Callable

HANDLERS: dict[str, Callable] = {}


def handles(*types: str):
    def register(fn):
        for kind in types:
            HANDLERS[kind] = fn
        return fn
    return register
