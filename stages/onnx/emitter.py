"""What modelferry's op-by-op emitters from ONNX (MXNet, Caffe) share: a table of handlers by op type,
the walk over a graph's nodes that evaluates what is constant instead of converting it, and the error a
handler raises for what its framework cannot express."""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from stages.errors import StageError
from stages.onnx.static import fold

DEFAULT_DOMAINS = ("", "ai.onnx")


class Unsupported(StageError):
    """A node the framework cannot express exactly: the message names the op and the node."""


def attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def opset(model, default: int = 13) -> int:
    return next((o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), default)


def initializers(model) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    return {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}


def nodes(model, constants: dict, shape_of, version: int, what: str) -> Iterator:
    """The nodes to convert, in order. A node outside ONNX's own domain is refused; a Constant, the Shape
    of a static tensor and a node of constants only are evaluated into `constants` instead."""
    for node in model.graph.node:
        if node.domain not in DEFAULT_DOMAINS:
            raise StageError(f"{what}: node {node.name!r} is {node.domain}.{node.op_type}, not a standard ONNX op")
        folded = fold(node, constants, shape_of, version)
        if folded is not None:
            constants.update(zip(node.output, (np.asarray(v) for v in folded)))
            continue
        yield node


class OpTable:
    """One emitter's handlers, by ONNX op type; called on a node, it runs its handler."""

    def __init__(self, framework: str):
        self.framework = framework
        self.handlers: dict[str, Callable] = {}

    def handles(self, *ops: str):
        def register(fn):
            for op in ops:
                self.handlers[op] = fn
            return fn
        return register

    def __call__(self, state, node, what: str):
        handler = self.handlers.get(node.op_type)
        if handler is None:
            raise StageError(f"{what}: the {self.framework} emitter has no conversion for {node.op_type} "
                             f"(node {node.name!r})")
        try:
            return handler(state, node)
        except Unsupported as exc:
            raise StageError(f"{what}: {exc}") from None
