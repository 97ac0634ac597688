"""The PyTorch emitter's op table, and what its handlers (stages/torch/from_onnx/ops/) share: each module
there registers its handlers in OPS on import."""

from __future__ import annotations

from stages.onnx.emitter import OpTable, Unsupported

OPS = OpTable("PyTorch")


def present(node, index: int) -> str | None:
    """The name of an optional input, or None where it is absent (past the end, or '')."""
    return node.input[index] if len(node.input) > index and node.input[index] else None


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def axis_of(axis: int, rank: int, node) -> int:
    if not -rank <= axis < max(rank, 1):
        raise Unsupported(f"{node.op_type} node {node.name!r}: axis {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis
