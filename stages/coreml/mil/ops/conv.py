"""conv and conv_transpose, any number of spatial dims, grouped: one matrix product per kernel tap."""

from __future__ import annotations

import itertools

import numpy as np

from stages.coreml.mil.ops.registry import handles
from stages.coreml.mil.ops.window import out_sizes, padded, padding, tap


def _geometry(c, weight: np.ndarray, spatial):
    rank = weight.ndim - 2
    kernel = list(weight.shape[2:])
    strides, dilations = c.ints("strides", [1] * rank), c.ints("dilations", [1] * rank)
    return kernel, strides, dilations


def _bias(out: np.ndarray, c) -> np.ndarray:
    bias = c.get("bias")
    if bias is not None:
        out = out + np.asarray(bias, np.float32).reshape((1, -1) + (1,) * (out.ndim - 2))
    return out


@handles("conv")
def conv(c):
    x, weight, groups = c["x"].astype(np.float32), c["weight"].astype(np.float32), c.int("groups", 1)
    n, channels, spatial = x.shape[0], x.shape[1], list(x.shape[2:])
    kernel, strides, dilations = _geometry(c, weight, spatial)
    pads = padding(c, spatial, kernel, strides, dilations)
    outs = out_sizes(c, spatial, kernel, strides, dilations, pads)
    x = padded(x, pads, outs, kernel, strides, dilations, 0.0)
    per_group, filters = channels // groups, weight.shape[0]
    length = int(np.prod(outs))
    w = weight.reshape((groups, filters // groups, per_group) + tuple(kernel))
    out = np.zeros((n, groups, filters // groups, length), np.float32)
    for offsets in itertools.product(*(range(k) for k in kernel)):
        seen = tap(x, offsets, outs, strides, dilations).reshape(n, groups, per_group, length)
        w_tap = w[(Ellipsis,) + offsets]  # groups, filters/group, channels/group
        if per_group == 1:  # depthwise: a product, not a matmul
            out += w_tap * seen
        else:
            out += np.matmul(w_tap, seen)
    return _bias(out.reshape((n, filters) + tuple(outs)), c)


@handles("conv_transpose")
def conv_transpose(c):
    """Each input position scatters weight x value into the output; the full result is then cut by `pad`."""
    x, weight, groups = c["x"].astype(np.float32), c["weight"].astype(np.float32), c.int("groups", 1)
    n, channels, spatial = x.shape[0], x.shape[1], list(x.shape[2:])
    kernel, strides, dilations = _geometry(c, weight, spatial)
    rank = len(spatial)
    full = [(i - 1) * s + (k - 1) * d + 1 for i, k, s, d in zip(spatial, kernel, strides, dilations, strict=True)]
    pad_type = c.get("pad_type", "valid")
    if pad_type == "custom":
        pad = c.ints("pad", [0] * 2 * rank)
        pads = [(pad[2 * i], pad[2 * i + 1]) for i in range(rank)]
    elif pad_type in ("same", "same_lower"):
        totals = [max(f - i * s, 0) for f, i, s in zip(full, spatial, strides, strict=True)]
        pads = [(t // 2, t - t // 2) if pad_type == "same" else (t - t // 2, t // 2) for t in totals]
    else:
        pads = [(0, 0)] * rank
    declared = c.out_shapes[0] if c.out_shapes else None
    outs = list(declared[-rank:]) if declared is not None else [f - b - e for f, (b, e) in zip(full, pads, strict=True)]
    per_group, filters_per_group = channels // groups, weight.shape[1]
    w = weight.reshape((groups, per_group, filters_per_group) + tuple(kernel))
    length = int(np.prod(spatial))
    seen = x.reshape(n, groups, per_group, length)
    size = [max(f, b + o) for f, (b, _), o in zip(full, pads, outs, strict=True)]
    result = np.zeros((n, groups, filters_per_group) + tuple(size), np.float32)
    for offsets in itertools.product(*(range(k) for k in kernel)):
        w_tap = np.swapaxes(w[(Ellipsis,) + offsets], 1, 2)  # groups, filters/group, channels/group
        part = np.matmul(w_tap, seen).reshape((n, groups, filters_per_group) + tuple(spatial))
        index = [slice(None)] * 3 + [
            slice(o * d, o * d + s * (i - 1) + 1, s)
            for o, i, s, d in zip(offsets, spatial, strides, dilations, strict=True)
        ]
        result[tuple(index)] += part
    crop = [slice(None)] * 3 + [slice(b, b + o) for (b, _), o in zip(pads, outs, strict=True)]
    out = result[tuple(crop)].reshape((n, groups * filters_per_group) + tuple(outs))
    return _bias(out, c)
