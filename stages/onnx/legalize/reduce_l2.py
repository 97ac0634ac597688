"""ReduceL2 as Sqrt(ReduceSumSquare): ONNX defines the one as the other, with the same axes, keepdims and
noop_with_empty_axes at every opset. onnx2tf turns ReduceL2 into tf.norm, which takes one axis or two,
never a list of one ("'axis' must be None, an integer, or a tuple of 2 unique integers, got 1")."""

from __future__ import annotations

from stages.onnx.legalize.graph import Graph


def run(graph: Graph) -> int:
    from onnx import helper

    count = 0
    for node in [n for n in graph.graph.node if n.op_type == "ReduceL2" and n.domain in ("", "ai.onnx")]:
        squares = f"{node.output[0]}__sum_of_squares"
        summed = helper.make_node("ReduceSumSquare", list(node.input), [squares], name=f"{node.name}__sum_of_squares")
        summed.attribute.extend(node.attribute)
        root = helper.make_node("Sqrt", [squares], [node.output[0]], name=node.name)
        graph.replace([node], [summed, root])
        count += 1
    return count
