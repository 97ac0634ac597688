"""Constant padding that pnnx cannot express, written as Concat with constant blocks: the same values.

pnnx turns ONNX's Pad into ncnn's Padding only where the pads fit its patterns; others (the channel
padding of MediaPipe's nets, the spatial padding of an NHWC graph from Keras or TFLite: ZeroPadding2D)
it leaves as ONNX's Pad, which ncnn has no layer for. Concatenating blocks of the pad value along each
padded axis is exact. It needs the padded tensor's shape (ONNX's shape inference, the inputs at batch 1)
and constant pads; the batch axis and negative pads are left alone, and so are the other modes (reflect,
edge), which pnnx then names.
"""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph
from stages.onnx.static import constant as _constant
from stages.onnx.static import shapes as _shapes


def run(graph: Graph) -> int:
    return as_concat(graph.model, graph.inputs)


def _padding(model, node, shapes) -> tuple[list[int], np.ndarray, float] | None:
    """(shape, pads, value) of a Pad this pass can write as Concat, else None."""
    if node.op_type != "Pad":
        return None
    mode = next((a.s.decode() for a in node.attribute if a.name == "mode"), "constant")
    shape = shapes.get(node.input[0])
    pads = _constant(model, node.input[1]) if len(node.input) > 1 else None
    value = _constant(model, node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros(())
    axes_given = len(node.input) > 3 and node.input[3]
    if mode != "constant" or not shape or None in shape or pads is None or value is None or axes_given:
        return None
    rank = len(shape)
    if len(pads) != 2 * rank or (pads < 0).any() or pads[0] or pads[rank]:
        return None
    return shape, pads, float(value.reshape(-1)[0]) if value.size else 0.0


def as_concat(model, inputs: list[dict]) -> int:
    """Rewrite every constant Pad of `model` (in place) as Concat; returns how many."""
    from onnx import helper, numpy_helper

    shapes = _shapes(model, inputs)
    nodes, rewritten = [], 0
    for node in model.graph.node:
        found = _padding(model, node, shapes)
        if found is None:
            nodes.append(node)
            continue
        shape, pads, value = found
        rank, current, name = len(shape), node.input[0], node.name or node.output[0]
        axes = [axis for axis in range(rank) if pads[axis] or pads[axis + rank]]
        for index, axis in enumerate(axes):
            blocks = {}
            for side, count in (("before", int(pads[axis])), ("after", int(pads[axis + rank]))):
                if count:
                    block = np.full([*shape[:axis], count, *shape[axis + 1 :]], value, np.float32)
                    blocks[side] = f"{name}/pad_{side}_{axis}"
                    model.graph.initializer.append(numpy_helper.from_array(block, blocks[side]))
            out = node.output[0] if index == len(axes) - 1 else f"{name}/padded_{axis}"
            parts = [*(blocks.get("before"),), current, *(blocks.get("after"),)]
            nodes.append(
                helper.make_node("Concat", [p for p in parts if p], [out], name=f"{name}/concat_{axis}", axis=axis)
            )
            shape = [*shape[:axis], shape[axis] + int(pads[axis] + pads[axis + rank]), *shape[axis + 1 :]]
            current = out
        if not axes:  # pads of zeros: the Pad is an identity
            nodes.append(helper.make_node("Identity", [node.input[0]], [node.output[0]], name=name))
        rewritten += 1
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return rewritten
