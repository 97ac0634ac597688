"""A Gather of one index from a Transpose's output as the Gather from the Transpose's input, along the axis
the Transpose moved there, and a Transpose of the rest (left out where it keeps their order): the same
elements. A TensorFlow RNN's while loop reads each time step from its input made time-major ([1, T, C] as
[T, 1, C]); pnnx takes the first axis of every tensor for the batch, and leaves a Gather along it."""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph


def run(graph: Graph) -> int:
    count = graph.rewrite_each("Gather", _plan, _nodes)
    if count:
        graph.drop_unread()  # a Transpose every reader of which now gathers from its input
    return count


def _plan(graph: Graph, node):
    transpose = graph.made_by(node.input[0], "Transpose")
    index = graph.constants.get(node.input[1])
    if transpose is None or index is None or np.ndim(index) != 0:
        return None
    perm = next((list(a.ints) for a in transpose.attribute if a.name == "perm"), None)
    if perm is None:
        return None
    axis = next((a.i for a in node.attribute if a.name == "axis"), 0) % len(perm)
    rest = [p for i, p in enumerate(perm) if i != axis]
    order = [sorted(rest).index(p) for p in rest]
    return transpose.input[0], perm[axis], order


def _nodes(graph: Graph, node, source: str, axis: int, order: list[int]) -> list:
    from onnx import helper

    base = node.name or node.output[0]
    if order == sorted(order):
        return [helper.make_node("Gather", [source, node.input[1]], list(node.output), name=base, axis=axis)]
    picked = graph.unused(f"{base}/picked")
    return [
        helper.make_node("Gather", [source, node.input[1]], [picked], name=f"{base}/picked", axis=axis),
        helper.make_node("Transpose", [picked], list(node.output), name=base, perm=order),
    ]
