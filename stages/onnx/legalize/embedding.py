"""An embedding lookup (Gather from a constant table by computed indices) with its explicit `axis=0`
dropped: 0 is ONNX's default, so the node means the same. pnnx turns a Gather into ncnn's Embed only when
the node carries no attribute; with `axis=0` written out (PyTorch's dynamo exporter writes it) it leaves a
Gather, which ncnn has no layer for."""

from __future__ import annotations

from stages.onnx.legalize.graph import Graph


def run(graph: Graph) -> int:
    count = 0
    for node in graph.graph.node:
        if (
            node.op_type != "Gather"
            or node.domain not in ("", "ai.onnx")
            or node.input[1] in graph.constants
            or node.input[0] not in graph.constants
        ):
            continue
        axis = [a for a in node.attribute if a.name == "axis"]
        if len(axis) == 1 and axis[0].i == 0 and len(node.attribute) == 1:
            del node.attribute[:]
            count += 1
    return count
