"""A Split into equal parts (no sizes given: TensorFlow's tf.split of a GRU's gates) with its sizes spelt out,
from the static shape: the same parts. pnnx writes ncnn's Slice of such a Split without its slices, and
ncnn crashes running it."""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph


def run(graph: Graph) -> int:
    return graph.rewrite_each("Split", _plan, _nodes)


def _plan(graph: Graph, node):
    a = {at.name: at for at in node.attribute}
    if "split" in a or (len(node.input) > 1 and node.input[1]):
        return None
    shape = graph.shape(node.input[0])
    axis = a["axis"].i if "axis" in a else 0
    parts = a["num_outputs"].i if "num_outputs" in a else len(node.output)
    if shape is None or not shape or shape[axis % len(shape)] is None:
        return None
    size = shape[axis % len(shape)]
    step = -(-size // parts)  # ONNX: the last part the smaller where they do not divide evenly
    return ([min(step, size - i * step) for i in range(parts)],)


def _nodes(graph: Graph, node, sizes: list[int]) -> list:
    from onnx import helper

    kept = [at for at in node.attribute if at.name == "axis"]
    if graph.opset >= 13:
        split = graph.constant(f"{node.name or node.output[0]}/sizes", sizes, np.int64)
        made = helper.make_node("Split", [node.input[0], split], list(node.output), name=node.name)
    else:
        made = helper.make_node("Split", [node.input[0]], list(node.output), name=node.name, split=sizes)
    made.attribute.extend(kept)
    return [made]
