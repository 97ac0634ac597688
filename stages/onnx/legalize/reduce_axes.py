"""A ReduceMin or ReduceMax over several axes as one reduction per axis, the last axis first (so that, with
keepdims=0, the axes left keep their numbers): the minimum of minima is the minimum, exactly. pnnx leaves a
ReduceMin or ReduceMax of two axes as ONNX's op ("ignore ReduceMin … axes=(1,2)": basic-pitch's
normalized log spectrogram), and ncnn has no such layer."""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph, Steps

OPS = ("ReduceMin", "ReduceMax")


def run(graph: Graph) -> int:
    return sum(graph.rewrite_each(op, _plan, _nodes) for op in OPS)


def _plan(graph: Graph, node):
    from onnx import helper

    a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
    axes = a.get("axes")
    if len(node.input) > 1 and node.input[1]:  # opset 18: the axes an input
        axes = graph.constants.get(node.input[1])
    shape = graph.shape(node.input[0])
    if axes is None or shape is None or len(np.reshape(axes, -1)) < 2:
        return None
    return sorted({int(axis) % len(shape) for axis in np.reshape(axes, -1)}, reverse=True), a.get("keepdims", 1)


def _nodes(graph: Graph, node, axes: list[int], keepdims: int) -> list:
    steps = Steps(node.name or node.output[0], node.output[0])
    value = node.input[0]
    for i, axis in enumerate(axes):
        last = i == len(axes) - 1
        if graph.opset >= 18:
            taken = graph.constant(f"{steps.name}/axis_{axis}", [axis], np.int64)
            value = steps(node.op_type, f"axis_{axis}", [value, taken], last=last, keepdims=keepdims)
        else:
            value = steps(node.op_type, f"axis_{axis}", [value], last=last, axes=[axis], keepdims=keepdims)
    return steps.made
