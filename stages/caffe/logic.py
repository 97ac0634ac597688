"""Comparisons, logic and ArgMax in Caffe layers (registered on the Caffe emitter's table,
stages/caffe/layers.py). Caffe has no bool: results are 1.0 and 0.0, computed exactly from the sign of a
difference (Threshold), and marked integral so a later Cast to an integer type passes them on."""

from __future__ import annotations

import numpy as np

from stages.caffe.layers import LAYERS, Net, _elementwise, _take
from stages.caffe.prototxt import Enum
from stages.onnx.emitter import Unsupported, attrs

COMPARISONS = {"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"}


@LAYERS.handles(*COMPARISONS)
def compare(net: Net, node):
    """A comparison as 1.0 or 0.0, exactly, from the difference d = a - b of two (broadcast) operands, whose
    sign is the comparison's for finite floats: Greater is Threshold(d) (d > 0), Less Threshold(-d), Equal
    1 - Threshold(|d|); the OrEqual forms 1 - the opposite one."""
    from onnx import helper

    top, add = node.output[0], net.add
    left, right = node.input
    op = node.op_type
    if op in ("Less", "GreaterOrEqual"):
        left, right = right, left
    step = helper.make_node("Sub", [left, right], [f"{top}/difference"], name=node.name)
    difference = _elementwise(net, step, [left, right])
    if op == "Equal":
        difference = add(node, "AbsVal", [difference], top=f"{top}/distance")
    positive = add(
        node,
        "Threshold",
        [difference],
        {"threshold_param": {"threshold": 0.0}},
        top=None if op in ("Greater", "Less") else f"{top}/positive",
    )
    net.integral.add(top)
    if op in ("Greater", "Less"):
        return positive
    return add(node, "Power", [positive], {"power_param": {"scale": -1.0, "shift": 1.0}})


@LAYERS.handles("Sign")
def sign(net: Net, node):
    """Sign(x) = Threshold(x) - Threshold(-x): 1, 0 or -1, exactly, for finite x."""
    top, add = node.output[0], net.add
    x = node.input[0]
    up = add(node, "Threshold", [x], {"threshold_param": {"threshold": 0.0}}, top=f"{top}/positive")
    flipped = add(node, "Power", [x], {"power_param": {"scale": -1.0}}, top=f"{top}/negated")
    down = add(node, "Threshold", [flipped], {"threshold_param": {"threshold": 0.0}}, top=f"{top}/negative")
    net.integral.add(top)
    return add(node, "Eltwise", [up, down], {"eltwise_param": {"operation": Enum("SUM"), "coeff": [1.0, -1.0]}})


@LAYERS.handles("Not")
def not_(net: Net, node):
    net.integral.add(node.output[0])
    return net.add(node, "Power", [node.input[0]], {"power_param": {"scale": -1.0, "shift": 1.0}})


@LAYERS.handles("And", "Or")
def logical(net: Net, node):
    """Of 1.0/0.0 tensors: And is their product, Or their max (broadcast as ONNX does)."""
    from onnx import helper

    net.integral.add(node.output[0])
    step = helper.make_node(
        "Mul" if node.op_type == "And" else "Max", list(node.input), list(node.output), name=node.name
    )
    return _elementwise(net, step, list(node.input))


@LAYERS.handles("ArgMax", "ArgMin")
def arg_max(net: Net, node):
    """Caffe's ArgMax on the axis (ArgMin: of -x). Among equal values Caffe's picks the last index: that is
    ONNX's select_last_index=1; for ONNX's default (the first), the axis is reversed by index first
    (stages/caffe/layers._take) and the index counted back from its end."""
    a = attrs(node)
    shape = net.shape(node.input[0])
    if not shape or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"{node.op_type} node {node.name!r}: its input's shape is not static")
    axis, top, add = a.get("axis", 0) % len(shape), node.output[0], net.add
    keep = bool(a.get("keepdims", 1))
    out = [1 if i == axis else d for i, d in enumerate(shape)]
    net.shapes.setdefault(top, out if keep else [d for i, d in enumerate(shape) if i != axis])
    net.integral.add(top)
    bottom = node.input[0]
    if node.op_type == "ArgMin":
        bottom = add(node, "Power", [bottom], {"power_param": {"scale": -1.0}}, top=f"{top}/negated")
    first = not a.get("select_last_index", 0)
    if first:
        bottom = _take(net, node, bottom, list(shape), axis, np.arange(shape[axis] - 1, -1, -1), f"{top}/reversed")
    index = add(node, "ArgMax", [bottom], {"argmax_param": {"axis": axis}}, top=f"{top}/index")
    if first:
        index = add(
            node,
            "Power",
            [index],
            {"power_param": {"scale": -1.0, "shift": float(shape[axis] - 1)}},
            top=f"{top}/from_start",
        )
    return add(node, "Reshape", [index], {"reshape_param": {"shape": {"dim": net.shapes[top] or [1]}}})
