"""One handler per MIL op type: `@handles("relu")` on a function of a Call, returning the op's output (or a
tuple of them, for ops with several). Adding an op is adding one function to its group's module."""

from __future__ import annotations

from typing import Callable

HANDLERS: dict[str, Callable] = {}


def handles(*op_types: str):
    def register(fn):
        for op_type in op_types:
            if op_type in HANDLERS:
                raise ValueError(f"MIL op {op_type} has two handlers")
            HANDLERS[op_type] = fn
        return fn

    return register
