"""What convolutions and pools share: the padding a pad_type means, and the input seen by one kernel tap."""

from __future__ import annotations

import math

import numpy as np


def padding(
    c, spatial: list[int], kernel: list[int], strides: list[int], dilations: list[int]
) -> list[tuple[int, int]]:
    """(before, after) per spatial dim for MIL's pad_type: valid, custom (`pad`), same, same_lower."""
    pad_type = c.get("pad_type", "valid")
    if pad_type == "custom":
        pad = c.ints("pad", [0] * 2 * len(spatial))
        return [(pad[2 * i], pad[2 * i + 1]) for i in range(len(spatial))]
    if pad_type in ("same", "same_lower"):
        pads = []
        for size, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small = total // 2
            pads.append((small, total - small) if pad_type == "same" else (total - small, small))
        return pads
    return [(0, 0)] * len(spatial)


def out_sizes(c, spatial, kernel, strides, dilations, pads) -> list[int]:
    """The output's spatial sizes: as the program declares them (ceil_mode and its clipping included), else floor."""
    declared = c.out_shapes[0] if c.out_shapes else None
    if declared is not None and len(declared) >= len(spatial):
        return list(declared[-len(spatial) :])
    return [
        (n + b + e - (k - 1) * d - 1) // s + 1
        for n, k, s, d, (b, e) in zip(spatial, kernel, strides, dilations, pads, strict=True)
    ]


def padded(x: np.ndarray, pads, outs, kernel, strides, dilations, fill: float) -> np.ndarray:
    """x padded on its spatial dims by `pads`, and past them as far as the last window reaches (ceil_mode)."""
    widths = [(0, 0)] * (x.ndim - len(pads))
    for n, (b, e), o, k, s, d in zip(x.shape[-len(pads) :], pads, outs, kernel, strides, dilations, strict=True):
        reach = (o - 1) * s + (k - 1) * d + 1
        widths.append((b, max(e, reach - n - b)))
    return np.pad(x, widths, constant_values=fill)


def tap(x: np.ndarray, offsets, outs, strides, dilations) -> np.ndarray:
    """The input under kernel tap `offsets` for every output position: x[..., o*d : o*d + s*(out-1)+1 : s, …]."""
    index = [slice(None)] * (x.ndim - len(offsets))
    for o, n, s, d in zip(offsets, outs, strides, dilations, strict=True):
        index.append(slice(o * d, o * d + s * (n - 1) + 1, s))
    return x[tuple(index)]
