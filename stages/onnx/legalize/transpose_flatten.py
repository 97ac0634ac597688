"""A Transpose before a Flatten into a dense layer, taken out: Keras flattens NHWC, so tf2onnx writes
Transpose(NCHW -> NHWC), Flatten (or a Reshape to [batch, -1]) and a MatMul or Gemm with constant weights.
The Transpose only reorders the flattened row, so the same product is the untransposed row times the
weights with their rows reordered: x·W[t] where t maps each of x's positions to the transposed row's.
Exact (the same sums, in another order of rows); where the Transpose keeps the batch axis first and each
tensor between has one reader."""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph

FLATTENS = ("Flatten", "Reshape")


def run(graph: Graph) -> int:
    return graph.rewrite_each("Transpose", _plan, _nodes)


def _plan(graph: Graph, node):
    perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
    shape = graph.shape(node.input[0])
    if perm is None or perm[0] != 0 or shape is None or None in shape or len(shape) < 3:
        return None
    flatten = graph.only_reader(node.output[0], FLATTENS)
    if flatten is None or graph.shape(flatten.output[0]) != [shape[0], int(np.prod(shape[1:]))]:
        return None
    if flatten.op_type == "Flatten" and next((a.i for a in flatten.attribute if a.name == "axis"), 1) != 1:
        return None
    dense = graph.only_reader(flatten.output[0], ("MatMul", "Gemm"))
    if (
        dense is None
        or dense.input[0] != flatten.output[0]
        or any(name not in graph.constants for name in dense.input[1:] if name)
    ):
        return None
    transposed = {a.name: a.i for a in dense.attribute if a.name in ("transA", "transB")}
    if transposed.get("transA", 0):
        return None
    weight = np.asarray(graph.constants[dense.input[1]])
    if weight.ndim != 2:
        return None
    # order[k]: the position in x's own row of the transposed row's k-th value
    order = np.arange(int(np.prod(shape[1:]))).reshape(shape[1:]).transpose([p - 1 for p in perm[1:]]).reshape(-1)
    rows = np.empty_like(order)
    rows[order] = np.arange(order.size)  # rows[j]: where x's j-th value sits in the transposed row
    reordered = weight[:, rows] if transposed.get("transB", 0) else weight[rows]
    return flatten, dense, reordered


def _nodes(graph: Graph, node, flatten, dense, reordered: np.ndarray) -> list:
    from onnx import helper

    weights = graph.constant(f"{dense.input[1]}/untransposed", reordered, None)
    flat = helper.make_node(
        flatten.op_type, [node.input[0], *flatten.input[1:]], list(flatten.output), name=flatten.name
    )
    flat.attribute.extend(flatten.attribute)
    made = helper.make_node(
        dense.op_type, [dense.input[0], weights, *dense.input[2:]], list(dense.output), name=dense.name
    )
    made.attribute.extend(dense.attribute)
    graph.replace([flatten, dense], [])
    return [flat, made]
