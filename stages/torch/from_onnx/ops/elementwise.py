"""Elementwise ONNX ops: math, comparisons and logic, activations, Clip, Cast, Where, Identity."""

from __future__ import annotations

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F

from stages.onnx.emitter import Unsupported, attrs
from stages.torch.from_onnx.graph import torch_dtype
from stages.torch.from_onnx.table import OPS, present

UNARY = {
    "Sqrt": torch.sqrt,
    "Exp": torch.exp,
    "Log": torch.log,
    "Neg": torch.neg,
    "Abs": torch.abs,
    "Relu": torch.relu,
    "Sigmoid": torch.sigmoid,
    "Tanh": torch.tanh,
    "Erf": torch.erf,
    "Floor": torch.floor,
    "Ceil": torch.ceil,
    "Sign": torch.sign,
    "Reciprocal": torch.reciprocal,
    "Round": torch.round,  # halves to even, as ONNX's
    "Sin": torch.sin,
    "Cos": torch.cos,
    "Tan": torch.tan,
    "Asin": torch.asin,
    "Acos": torch.acos,
    "Atan": torch.atan,
    "Sinh": torch.sinh,
    "Cosh": torch.cosh,
    "Asinh": torch.asinh,
    "Acosh": torch.acosh,
    "Atanh": torch.atanh,
    "Not": torch.logical_not,
    "IsNaN": torch.isnan,
    "BitwiseNot": torch.bitwise_not,
    "Softsign": F.softsign,
    "Softplus": F.softplus,
    "Mish": F.mish,
}
BINARY = {
    "Add": torch.add,
    "Sub": torch.sub,
    "Mul": torch.mul,
    "Equal": torch.eq,
    "Greater": torch.gt,
    "Less": torch.lt,
    "GreaterOrEqual": torch.ge,
    "LessOrEqual": torch.le,
    "And": torch.logical_and,
    "Or": torch.logical_or,
    "Xor": torch.logical_xor,
    "BitwiseAnd": torch.bitwise_and,
    "BitwiseOr": torch.bitwise_or,
    "BitwiseXor": torch.bitwise_xor,
}
VARIADIC = {"Max": torch.maximum, "Min": torch.minimum, "Sum": torch.add, "Mean": torch.add}


def _out(node) -> str:
    return node.output[0]


@OPS.handles(*UNARY)
def unary(g, node):
    return g.call(UNARY[node.op_type], g.tensor(node.input[0]), name=_out(node))


@OPS.handles(*BINARY)
def binary(g, node):
    return g.call(BINARY[node.op_type], g.tensor(node.input[0]), g.tensor(node.input[1]), name=_out(node))


@OPS.handles("Div")
def div(g, node):
    a, b = g.tensor(node.input[0]), g.tensor(node.input[1])
    if g.dtype(node.input[0]).is_floating_point:
        return g.call(torch.div, a, b, name=_out(node))
    return g.call(torch.div, a, b, rounding_mode="trunc", name=_out(node))  # C's integer division, as ONNX Runtime


@OPS.handles("Mod")
def mod(g, node):
    fn = torch.fmod if attrs(node).get("fmod", 0) else torch.remainder  # fmod: the dividend's sign; else the divisor's
    return g.call(fn, g.tensor(node.input[0]), g.tensor(node.input[1]), name=_out(node))


@OPS.handles("Pow")
def power(g, node):
    base, exponent = node.input[0], node.input[1]
    if exponent in g.constants and g.constants[exponent].size == 1 and g.dtype(base).is_floating_point:
        y = g.call(torch.pow, g.tensor(base), float(g.constants[exponent].reshape(-1)[0]), name=_out(node))
    else:
        y = g.call(torch.pow, g.tensor(base), g.tensor(exponent), name=_out(node))
    if y.meta["at"][g.batches[0]].dtype != g.dtype(base):  # ONNX's Pow has the base's type; torch promotes
        y = g.call(torch.Tensor.to, y, g.dtype(base))
    return y


@OPS.handles(*VARIADIC)
def variadic(g, node):
    names = [name for name in node.input if name]
    y = g.tensor(names[0])
    for i, name in enumerate(names[1:], 1):
        last = i == len(names) - 1 and node.op_type != "Mean"
        y = g.call(VARIADIC[node.op_type], y, g.tensor(name), name=_out(node) if last else None)
    if node.op_type == "Mean" and len(names) > 1:
        y = g.call(torch.div, y, float(len(names)), name=_out(node))
    return y


@OPS.handles("LeakyRelu")
def leaky_relu(g, node):
    return g.call(F.leaky_relu, g.tensor(node.input[0]), float(attrs(node).get("alpha", 0.01)), name=_out(node))


@OPS.handles("Elu", "Celu")
def elu(g, node):
    fn = F.elu if node.op_type == "Elu" else F.celu
    return g.call(fn, g.tensor(node.input[0]), float(attrs(node).get("alpha", 1.0)), name=_out(node))


@OPS.handles("Selu")
def selu(g, node):
    a = attrs(node)
    y = g.call(F.elu, g.tensor(node.input[0]), float(a.get("alpha", 1.67326319217681884765625)))
    return g.call(torch.mul, y, float(a.get("gamma", 1.05070102214813232421875)), name=_out(node))


@OPS.handles("ThresholdedRelu")
def thresholded_relu(g, node):
    return g.call(F.threshold, g.tensor(node.input[0]), float(attrs(node).get("alpha", 1.0)), 0.0, name=_out(node))


@OPS.handles("Gelu")
def gelu(g, node):
    approximate = attrs(node).get("approximate", b"none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
    return g.call(F.gelu, g.tensor(node.input[0]), approximate=approximate, name=_out(node))


@OPS.handles("PRelu")
def prelu(g, node):
    # ONNX broadcasts the slope (aligned on the right), which torch.where does as it is
    x = g.tensor(node.input[0])
    negative = g.call(torch.lt, x, 0)
    return g.call(torch.where, negative, g.call(torch.mul, x, g.tensor(node.input[1])), x, name=_out(node))


@OPS.handles("HardSigmoid")
def hard_sigmoid(g, node):
    a = attrs(node)
    y = g.call(
        torch.add, g.call(torch.mul, g.tensor(node.input[0]), float(a.get("alpha", 0.2))), float(a.get("beta", 0.5))
    )
    return g.call(torch.clamp, y, 0.0, 1.0, name=_out(node))


@OPS.handles("HardSwish")
def hard_swish(g, node):
    return g.call(F.hardswish, g.tensor(node.input[0]), name=_out(node))  # x * HardSigmoid(1/6, 1/2)


def _bound(g, node, index: int, attribute: str):
    """A Clip bound: a Python number where constant (of the input's own kind), a tensor where computed."""
    name = present(node, index)
    if name is None:
        value = attrs(node).get(attribute)
        return None if value is None else float(value)
    if name in g.constants:
        return np.asarray(g.constants[name]).reshape(-1)[0].item()
    return g.tensor(name)


@OPS.handles("Clip")
def clip(g, node):
    low, high = _bound(g, node, 1, "min"), _bound(g, node, 2, "max")
    x = g.tensor(node.input[0])
    if isinstance(low, torch.fx.Node) or isinstance(high, torch.fx.Node):  # computed bounds: elementwise
        if low is not None:
            x = g.call(
                torch.maximum,
                x,
                low if isinstance(low, torch.fx.Node) else g.call(torch.full_like, x, low),
                name=None if high is not None else _out(node),
            )
        if high is not None:
            x = g.call(
                torch.minimum,
                x,
                high if isinstance(high, torch.fx.Node) else g.call(torch.full_like, x, high),
                name=_out(node),
            )
        return x
    if low is None and high is None:
        return x
    return g.call(torch.clamp, x, low, high, name=_out(node))


@OPS.handles("Cast", "CastLike")
def cast(g, node):
    from onnx import helper

    if node.op_type == "CastLike":
        dtype = g.dtype(node.input[1])
    else:
        np_dtype = np.dtype(helper.tensor_dtype_to_np_dtype(attrs(node)["to"]))
        if np_dtype.kind not in "fiub":
            raise Unsupported(f"Cast node {node.name!r}: to {np_dtype}, which torch has no tensor for")
        dtype = torch_dtype(np_dtype)
    return g.call(torch.Tensor.to, g.tensor(node.input[0]), dtype, name=_out(node))


@OPS.handles("Identity")
def identity(g, node):
    return g.tensor(node.input[0])


@OPS.handles("Dropout")
def dropout(g, node):
    if len(node.output) > 1 and node.output[1]:
        raise Unsupported(f"Dropout node {node.name!r}: its mask output is used (a training graph)")
    training = present(node, 2)
    if training and (training not in g.constants or bool(np.asarray(g.constants[training]).reshape(-1)[0])):
        raise Unsupported(f"Dropout node {node.name!r}: training_mode is on or computed")
    return g.tensor(node.input[0])  # inference: the identity


@OPS.handles("Where")
def where(g, node):
    return g.call(torch.where, *(g.tensor(name) for name in node.input[:3]), name=_out(node))


@OPS.handles("IsInf")
def is_inf(g, node):
    a = attrs(node)
    negative, positive = a.get("detect_negative", 1), a.get("detect_positive", 1)
    x = g.tensor(node.input[0])
    if negative and positive:
        return g.call(torch.isinf, x, name=_out(node))
    if positive:
        return g.call(torch.isposinf, x, name=_out(node))
    if negative:
        return g.call(torch.isneginf, x, name=_out(node))
    return g.call(torch.zeros_like, x, dtype=torch.bool, name=_out(node))
