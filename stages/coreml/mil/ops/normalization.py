"""batch_norm, instance_norm, layer_norm, l2_norm, local_response_norm: statistics in float64."""

from __future__ import annotations

import numpy as np

from stages.coreml.mil.ops.registry import handles


def _channel(v, ndim: int):
    return np.asarray(v, np.float64).reshape((1, -1) + (1,) * (ndim - 2))


@handles("batch_norm")
def batch_norm(c):
    x = c["x"].astype(np.float64)
    out = (x - _channel(c["mean"], x.ndim)) / np.sqrt(_channel(c["variance"], x.ndim) + c.float("epsilon", 1e-5))
    if c.get("gamma") is not None:
        out = out * _channel(c["gamma"], x.ndim)
    if c.get("beta") is not None:
        out = out + _channel(c["beta"], x.ndim)
    return out.astype(np.float32)


@handles("instance_norm")
def instance_norm(c):
    x = c["x"].astype(np.float64)
    axes = tuple(range(2, x.ndim))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    out = (x - mean) / np.sqrt(var + c.float("epsilon", 1e-5))
    if c.get("gamma") is not None:
        out = out * _channel(c["gamma"], x.ndim)
    if c.get("beta") is not None:
        out = out + _channel(c["beta"], x.ndim)
    return out.astype(np.float32)


@handles("layer_norm")
def layer_norm(c):
    x = c["x"].astype(np.float64)
    axes = c.ints("axes")
    axes = tuple(range(x.ndim)) if axes is None else tuple(sorted(a % x.ndim for a in axes))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    out = (x - mean) / np.sqrt(var + c.float("epsilon", 1e-5))
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    if c.get("gamma") is not None:
        out = out * np.asarray(c["gamma"], np.float64).reshape(shape)
    if c.get("beta") is not None:
        out = out + np.asarray(c["beta"], np.float64).reshape(shape)
    return out.astype(np.float32)


@handles("l2_norm")
def l2_norm(c):
    """x / sqrt(sum(x²) + epsilon) over its last three dims (the ones before are batch)."""
    x = c["x"].astype(np.float64)
    axes = tuple(range(max(x.ndim - 3, 0), x.ndim))
    norm = np.sqrt(np.sum(x * x, axis=axes, keepdims=True) + c.float("epsilon", 1e-6))
    return (x / norm).astype(np.float32)


@handles("local_response_norm")
def local_response_norm(c):
    x = c["x"].astype(np.float64)
    size, alpha, beta, k = c.int("size"), c.float("alpha", 1e-4), c.float("beta", 0.75), c.float("k", 1.0)
    square = np.square(x)
    pad = [(0, 0)] * x.ndim
    pad[1] = ((size - 1) // 2, size // 2)
    square = np.pad(square, pad)
    sums = sum(square[:, i : i + x.shape[1]] for i in range(size))
    return (x / np.power(k + alpha / size * sums, beta)).astype(np.float32)
