"""What modelferry's op-by-op emitters from ONNX (MXNet, Caffe) share: a table of handlers by op type,
the walk over a graph's nodes that evaluates what is constant instead of converting it, and the error a
handler raises for what its framework cannot express."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from stages.errors import StageError
from stages.handlers import DEFAULT_DOMAINS, Registry
from stages.onnx.static import fold


class Unsupported(StageError):
    """A node the framework cannot express exactly: the message names the op and the node."""


def attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def slice_params(node, constant, rank: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """A Slice's starts, ends, axes (made non-negative) and steps: attributes before opset 10, constant
    inputs after (`constant(name, node, what)`, the emitter's, refuses a computed one)."""
    a = attrs(node)
    if "starts" in a:  # opset < 10
        starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), None
    else:
        starts, ends = (constant(node.input[i], node, what) for i, what in ((1, "starts"), (2, "ends")))
        axes = constant(node.input[3], node, "axes") if len(node.input) > 3 and node.input[3] else None
        steps = constant(node.input[4], node, "steps") if len(node.input) > 4 and node.input[4] else None
    axes = [int(x) + rank if int(x) < 0 else int(x) for x in (range(len(starts)) if axes is None else axes)]
    steps = [1] * len(axes) if steps is None else [int(x) for x in steps]
    return [int(x) for x in starts], [int(x) for x in ends], axes, steps


def reshape_target(node, constants: dict) -> list[int] | None:
    """A Reshape's target shape where it is a constant the MXNet and Caffe reshapes read as ONNX does (0
    copies, -1 infers); None where the graph computes it, or where allowzero=1 makes a 0 a real 0."""
    given = constants.get(node.input[1]) if node.op_type == "Reshape" and len(node.input) > 1 else None
    if given is None or (attrs(node).get("allowzero", 0) and 0 in given):
        return None
    return [int(d) for d in given]


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
            constants.update(zip(node.output, (np.asarray(v) for v in folded), strict=False))
            continue
        yield node


class OpTable(Registry):
    """One emitter's handlers (stages/handlers.Registry), by ONNX op type and opset; called on a node, it
    runs the handler for the state's opset (`state.opset`)."""

    def __call__(self, state, node, what: str):
        opset = getattr(state, "opset", None)
        handler = self.find(node.op_type, node.domain, opset)
        if handler is None:
            at = f" at opset {opset}" if node.op_type in self and opset is not None else ""
            raise StageError(
                f"{what}: the {self.name} emitter has no conversion for {node.op_type}{at} (node {node.name!r})"
            )
        try:
            return handler(state, node)
        except Unsupported as exc:
            raise StageError(f"{what}: {exc}") from None
