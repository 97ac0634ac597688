"""A ReduceSum over one axis of a tensor of rank 4 or less (a trailing axis more still fits ncnn's four dims past
the batch) as a ReduceSum over that axis and a new trailing
axis of size 1 (an Unsqueeze before it): a sum of the same terms, since a sum over one element is that
element (a runtime may add them in another order: ONNX Runtime's results move by float rounding). pnnx
turns a one-axis ReduceSum into torch.sum(dim=<int>), and from an int its ncnn pass writes a Reduction with
no axes, which reduces nothing (a sentence encoder's mean pooling came out [16, 384] for [1, 384];
basic-pitch's magnitude of a complex spectrogram kept its two parts); from two axes it writes them."""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph, Steps


def run(graph: Graph) -> int:
    return graph.rewrite_each("ReduceSum", _plan, _nodes)


def _plan(graph: Graph, node):
    if graph.opset < 13 or len(node.input) < 2 or node.input[1] not in graph.constants:
        return None
    axes = np.asarray(graph.constants[node.input[1]]).reshape(-1)
    shape = graph.shape(node.input[0])
    if axes.size != 1 or shape is None or len(shape) > 4:  # a trailing axis more: at most ncnn's 4 dims past the batch
        return None
    return int(axes[0]) % len(shape), len(shape)


def _nodes(graph: Graph, node, axis: int, rank: int) -> list:
    steps = Steps(node.name or node.output[0], node.output[0])
    last = graph.constant(f"{steps.name}/trailing_axis", [rank], "int64")
    both = graph.constant(f"{steps.name}/axes", [axis, rank], "int64")
    taller = steps("Unsqueeze", "trailing", [node.input[0], last])
    keep = next((a.i for a in node.attribute if a.name == "keepdims"), 1)
    if keep:  # the summed trailing axis is kept as 1 too: squeezed back off
        summed = steps("ReduceSum", "summed", [taller, both], keepdims=1)
        steps("Squeeze", "flatter", [summed, last], last=True)
    else:
        steps("ReduceSum", "summed", [taller, both], last=True, keepdims=0)
    return steps.made
