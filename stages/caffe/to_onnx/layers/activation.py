"""Element-wise layers: ReLU (leaky), PReLU, Sigmoid, TanH, AbsVal, ELU, BNLL, Swish, Clip, Threshold,
Power, Exp, Log, Dropout (TEST phase), and Softmax."""

from __future__ import annotations

import math

import numpy as np

from stages.caffe.to_onnx.graph import Graph, Layer
from stages.caffe.to_onnx.registry import handles

PLAIN = {"Sigmoid": "Sigmoid", "TanH": "Tanh", "AbsVal": "Abs", "BNLL": "Softplus"}


@handles(*PLAIN)
def plain(g: Graph, layer: Layer) -> None:
    g.last(PLAIN[layer.type], [layer.inputs[0]], layer)


@handles("ReLU")
def relu(g: Graph, layer: Layer) -> None:
    slope = float(layer.param("relu_param").get("negative_slope", 0))
    if slope:
        g.last("LeakyRelu", [layer.inputs[0]], layer, alpha=slope)
    else:
        g.last("Relu", [layer.inputs[0]], layer)


@handles("PReLU")
def prelu(g: Graph, layer: Layer) -> None:
    rank = len(g.shape(layer.bottom[0]))
    slope = g.blob(layer, 0).reshape(-1)
    shaped = slope.reshape([1] * max(rank - 1, 1)) if slope.size == 1 else slope.reshape([-1] + [1] * (rank - 2))
    g.last("PRelu", [layer.inputs[0], g.const(f"{layer.name}/slope", shaped)], layer)


@handles("ELU")
def elu(g: Graph, layer: Layer) -> None:
    g.last("Elu", [layer.inputs[0]], layer, alpha=float(layer.param("elu_param").get("alpha", 1)))


@handles("Swish")
def swish(g: Graph, layer: Layer) -> None:
    beta = float(layer.param("swish_param").get("beta", 1))
    scaled = (
        layer.inputs[0]
        if beta == 1
        else g.step("Mul", [layer.inputs[0], g.const(f"{layer.name}/beta", np.float32(beta))], layer, "scaled")
    )
    gate = g.step("Sigmoid", [scaled], layer, "gate")
    g.last("Mul", [layer.inputs[0], gate], layer)


@handles("Clip")
def clip(g: Graph, layer: Layer) -> None:
    param = layer.param("clip_param")
    g.last(
        "Clip",
        [
            layer.inputs[0],
            g.const(f"{layer.name}/min", np.float32(param["min"])),
            g.const(f"{layer.name}/max", np.float32(param["max"])),
        ],
        layer,
    )


@handles("Threshold")
def threshold(g: Graph, layer: Layer) -> None:
    limit = float(layer.param("threshold_param").get("threshold", 0))
    above = g.step("Greater", [layer.inputs[0], g.const(f"{layer.name}/threshold", np.float32(limit))], layer, "above")
    g.last("Cast", [above], layer, to=1)


def _affine(g: Graph, layer: Layer, scale: float, shift: float) -> str:
    """shift + scale * x, with no node for what is 1 or 0."""
    value = layer.inputs[0]
    if scale != 1:
        value = g.step("Mul", [value, g.const(f"{layer.name}/scale", np.float32(scale))], layer, "scaled")
    if shift != 0:
        value = g.step("Add", [value, g.const(f"{layer.name}/shift", np.float32(shift))], layer, "shifted")
    return value


@handles("Power")
def power(g: Graph, layer: Layer) -> None:
    """(shift + scale * x) ^ power."""
    param = layer.param("power_param")
    exponent = float(param.get("power", 1))
    base = _affine(g, layer, float(param.get("scale", 1)), float(param.get("shift", 0)))
    if exponent == 1:
        g.last("Identity", [base], layer)
    else:
        g.last("Pow", [base, g.const(f"{layer.name}/power", np.float32(exponent))], layer)


@handles("Exp")
def exp(g: Graph, layer: Layer) -> None:
    """base ^ (shift + scale * x), base e where it is -1: e^(ln(base) * (shift + scale * x))."""
    param = layer.param("exp_param")
    base = float(param.get("base", -1))
    ln = 1.0 if base == -1 else math.log(base)
    g.last("Exp", [_affine(g, layer, ln * float(param.get("scale", 1)), ln * float(param.get("shift", 0)))], layer)


@handles("Log")
def log(g: Graph, layer: Layer) -> None:
    """log_base(shift + scale * x)."""
    param = layer.param("log_param")
    base = float(param.get("base", -1))
    inner = _affine(g, layer, float(param.get("scale", 1)), float(param.get("shift", 0)))
    if base == -1:
        g.last("Log", [inner], layer)
        return
    natural = g.step("Log", [inner], layer, "ln")
    g.last("Mul", [natural, g.const(f"{layer.name}/base", np.float32(1 / math.log(base)))], layer)


@handles("Dropout")
def dropout(g: Graph, layer: Layer) -> None:
    """The identity in TEST phase (Caffe scales at training time), unless scale_train is false."""
    param = layer.param("dropout_param")
    if param.get("scale_train", True):
        g.last("Identity", [layer.inputs[0]], layer)
    else:
        keep = np.float32(1 - float(param.get("dropout_ratio", 0.5)))
        g.last("Mul", [layer.inputs[0], g.const(f"{layer.name}/keep", keep)], layer)


@handles("Softmax")
def softmax(g: Graph, layer: Layer) -> None:
    g.last("Softmax", [layer.inputs[0]], layer, axis=int(layer.param("softmax_param").get("axis", 1)))
