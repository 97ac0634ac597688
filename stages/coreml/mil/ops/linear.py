"""linear, matmul and einsum."""

from __future__ import annotations

import numpy as np

from stages.coreml.mil.ops.registry import handles


@handles("linear")
def linear(c):
    x, weight = c["x"].astype(np.float32), c["weight"].astype(np.float32)
    out = np.matmul(x, weight.T)
    bias = c.get("bias")
    return out + bias.astype(np.float32) if bias is not None else out


@handles("matmul")
def matmul(c):
    x, y = c["x"], c["y"]
    if c.bool("transpose_x") and x.ndim > 1:
        x = np.swapaxes(x, -1, -2)
    if c.bool("transpose_y") and y.ndim > 1:
        y = np.swapaxes(y, -1, -2)
    if x.dtype != y.dtype:
        x, y = x.astype(np.float32), y.astype(np.float32)
    return np.matmul(x, y)


@handles("einsum")
def einsum(c):
    values = c["values"]
    values = values if isinstance(values, tuple) else (values,)
    return np.einsum(c["equation"], *values)
