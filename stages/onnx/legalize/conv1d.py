"""A 1-d Conv (and ConvTranspose) as the 2-d one over a map of height 1: the input unsqueezed at axis 2,
the weight given a kernel height of 1 (a new constant), every spatial attribute given its height's value
(kernel 1, stride 1, dilation 1, no padding, output_padding 0), and the output squeezed back. The same
sums in the same order. For emitters whose layers are 2-d only (Caffe)."""

from __future__ import annotations

from onnx import helper

from stages.onnx.legalize.graph import Graph, Steps

HEIGHT = {"kernel_shape": 1, "strides": 1, "dilations": 1, "output_padding": 0}


def run(graph: Graph) -> int:
    return graph.rewrite_each("Conv", _plan, _nodes) + graph.rewrite_each("ConvTranspose", _plan, _nodes)


def _plan(graph: Graph, node):
    if node.input[1] not in graph.constants or graph.constants[node.input[1]].ndim != 3:
        return None
    if any(a.name == "auto_pad" and a.s not in (b"NOTSET", b"") for a in node.attribute):
        return None
    if any(a.name == "output_shape" for a in node.attribute):
        return None
    return (graph.constants[node.input[1]],)


def _nodes(graph: Graph, node, weight) -> list:
    steps = Steps(node.name or node.output[0], node.output[0])
    kernel = graph.constant(f"{node.input[1]}/2d", weight[:, :, None, :], None)
    attributes = {}
    for a in node.attribute:
        value = helper.get_attribute_value(a)
        if a.name in HEIGHT:
            value = [HEIGHT[a.name], *value]
        elif a.name == "pads":  # [begin, end] -> [top, begin, bottom, end]
            value = [0, value[0], 0, value[1]]
        attributes[a.name] = value
    axis, attribute = graph.axes(f"{steps.name}/height_axis", [2])
    taller = steps("Unsqueeze", "taller", [node.input[0], *axis], **attribute)
    made = steps(node.op_type, "conv2d", [taller, kernel, *node.input[2:]], **attributes)
    steps("Squeeze", "flatter", [made, *axis], last=True, **attribute)
    return steps.made
