"""Activations: relu, relu6, sigmoid, softmax, gelu, silu, prelu, clip …"""

from __future__ import annotations

import math

import numpy as np

from stages.coreml.mil.ops.registry import handles

_ERF = np.frompyfunc(math.erf, 1, 1)


def erf(x) -> np.ndarray:
    """erf in float64 (numpy has none; the standard library's is exact to the last bit)."""
    x = np.asarray(x, np.float64)
    return _ERF(x).astype(np.float64)


@handles("relu")
def relu(c):
    return np.maximum(c["x"], 0).astype(c["x"].dtype)


@handles("relu6")
def relu6(c):
    return np.clip(c["x"], 0, 6)


@handles("clip")
def clip(c):
    return np.minimum(np.maximum(c["x"], c.float("alpha")), c.float("beta"))


@handles("sigmoid")
def sigmoid(c):
    x = c["x"].astype(np.float64)
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


@handles("sigmoid_hard")
def sigmoid_hard(c):
    return np.clip(c.float("alpha", 0.2) * c["x"] + c.float("beta", 0.5), 0, 1)


@handles("silu")
def silu(c):
    x = c["x"].astype(np.float64)
    return (x / (1.0 + np.exp(-x))).astype(np.float32)


@handles("tanh")
def tanh(c):
    return np.tanh(c["x"])


@handles("scaled_tanh")
def scaled_tanh(c):
    return c.float("alpha", 1.0) * np.tanh(c.float("beta", 1.0) * c["x"])


@handles("leaky_relu")
def leaky_relu(c):
    x = c["x"]
    return np.where(x >= 0, x, c.float("alpha", 0.01) * x)


@handles("prelu")
def prelu(c):
    x, alpha = c["x"], np.asarray(c["alpha"], np.float32).reshape(-1)
    slopes = alpha.reshape((1, -1) + (1,) * (x.ndim - 2))  # one slope per channel, axis 1
    return np.where(x >= 0, x, slopes * x)


@handles("elu")
def elu(c):
    x = c["x"]
    return np.where(x > 0, x, c.float("alpha", 1.0) * np.expm1(np.minimum(x, 0)))


@handles("thresholded_relu")
def thresholded_relu(c):
    x = c["x"]
    return np.where(x > c.float("alpha", 1.0), x, 0).astype(x.dtype)


@handles("softplus")
def softplus(c):
    x = c["x"].astype(np.float64)
    return np.logaddexp(0, x).astype(np.float32)


@handles("softsign")
def softsign(c):
    x = c["x"]
    return x / (1 + np.abs(x))


@handles("linear_activation")
def linear_activation(c):
    return c.float("alpha", 1.0) * c["x"] + c.float("beta", 0.0)


@handles("gelu")
def gelu(c):
    x, mode = c["x"].astype(np.float64), c.get("mode", "EXACT")
    if mode == "TANH_APPROXIMATION":
        return (0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))).astype(np.float32)
    if mode == "SIGMOID_APPROXIMATION":
        return (x / (1 + np.exp(-1.702 * x))).astype(np.float32)
    return (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(np.float32)


@handles("softmax")
def softmax(c):
    x, axis = c["x"].astype(np.float64), c.int("axis", -1)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)
