"""max_pool, avg_pool, l2_pool: the windows of conv's geometry, reduced."""

from __future__ import annotations

import itertools

import numpy as np

from stages.coreml.mil.ops.registry import handles
from stages.coreml.mil.ops.window import out_sizes, padded, padding, tap


def _windows(c):
    x = c["x"].astype(np.float32)
    kernel = c.ints("kernel_sizes")
    rank = len(kernel)
    strides, dilations = c.ints("strides", [1] * rank), [1] * rank
    spatial = list(x.shape[-rank:])
    pads = padding(c, spatial, kernel, strides, dilations)
    outs = out_sizes(c, spatial, kernel, strides, dilations, pads)
    return x, kernel, strides, dilations, pads, outs


def _taps(kernel):
    return itertools.product(*(range(k) for k in kernel))


@handles("max_pool")
def max_pool(c):
    x, kernel, strides, dilations, pads, outs = _windows(c)
    x = padded(x, pads, outs, kernel, strides, dilations, -np.inf)
    return np.maximum.reduce([tap(x, o, outs, strides, dilations) for o in _taps(kernel)])


def _counts(x, kernel, strides, dilations, pads, outs, exclude_padding: bool) -> np.ndarray:
    """How many elements each window averages: the input's only, or the explicit padding's too (never what
    ceil_mode reaches past the padding)."""
    rank = len(kernel)
    ones = np.ones(x.shape[-rank:], np.float32)
    if not exclude_padding:
        ones = np.pad(ones, pads, constant_values=1.0)
        pads = [(0, 0)] * rank
    ones = padded(ones, pads, outs, kernel, strides, dilations, 0.0)
    return sum(tap(ones, o, outs, strides, dilations) for o in _taps(kernel))


@handles("avg_pool")
def avg_pool(c):
    x, kernel, strides, dilations, pads, outs = _windows(c)
    counts = _counts(x, kernel, strides, dilations, pads, outs, c.bool("exclude_padding_from_average"))
    x = padded(x, pads, outs, kernel, strides, dilations, 0.0)
    return sum(tap(x, o, outs, strides, dilations) for o in _taps(kernel)) / counts


@handles("l2_pool")
def l2_pool(c):
    x, kernel, strides, dilations, pads, outs = _windows(c)
    x = padded(x, pads, outs, kernel, strides, dilations, 0.0)
    return np.sqrt(sum(np.square(tap(x, o, outs, strides, dilations)) for o in _taps(kernel)))
