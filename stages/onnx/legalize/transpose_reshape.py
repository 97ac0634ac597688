"""A Transpose that moves only axes of size one (the others keep their order) as a Reshape to its output
shape: the same elements in the same memory order. pnnx takes a tensor's first axis for the batch and
drops a Transpose that moves it: an LSTM's [steps 1, batch 1, 128] turned to [1, 128, 1] for a Conv came
out as 128 values for one (silero-vad's sequence model). Where the static shape is known, and its first
axis is one before and after."""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph


def run(graph: Graph) -> int:
    return graph.rewrite_each("Transpose", _plan, _nodes)


def _plan(graph: Graph, node):
    shape = graph.shape(node.input[0])
    if shape is None or None in shape or not shape:
        return None
    perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), list(range(len(shape)))[::-1])
    moved = [axis for axis in perm if shape[axis] != 1]
    if moved != sorted(moved) or perm == sorted(perm) or shape[0] != 1 or shape[perm[0]] != 1:
        return None  # the batch of one stays first: pnnx reads a Reshape's first axis as the batch too
    return ([shape[axis] for axis in perm],)


def _nodes(graph: Graph, node, shape: list) -> list:
    from onnx import helper

    target = graph.constant(f"{node.name or node.output[0]}/shape", shape, np.int64)
    return [helper.make_node("Reshape", [node.input[0], target], list(node.output), name=node.name)]
