"""Reductions over `axes` (all of them when absent), keeping the reduced dims when keep_dims: reduce_mean,
reduce_sum, reduce_max, reduce_l2_norm, reduce_argmax …"""

from __future__ import annotations

import numpy as np

from stages.coreml.mil.ops.registry import handles


def _axes(c, x):
    axes = c.ints("axes")
    return tuple(range(x.ndim)) if axes is None else tuple(a % x.ndim for a in axes) if x.ndim else ()


def _wide(x):
    return x.astype(np.float64) if x.dtype.kind == "f" else x


REDUCE = {
    "reduce_mean": lambda x, axes, keep: np.mean(_wide(x), axis=axes, keepdims=keep),
    "reduce_sum": lambda x, axes, keep: np.sum(_wide(x), axis=axes, keepdims=keep),
    "reduce_prod": lambda x, axes, keep: np.prod(_wide(x), axis=axes, keepdims=keep),
    "reduce_max": lambda x, axes, keep: np.max(x, axis=axes, keepdims=keep),
    "reduce_min": lambda x, axes, keep: np.min(x, axis=axes, keepdims=keep),
    "reduce_sum_square": lambda x, axes, keep: np.sum(np.square(_wide(x)), axis=axes, keepdims=keep),
    "reduce_l1_norm": lambda x, axes, keep: np.sum(np.abs(_wide(x)), axis=axes, keepdims=keep),
    "reduce_l2_norm": lambda x, axes, keep: np.sqrt(np.sum(np.square(_wide(x)), axis=axes, keepdims=keep)),
    "reduce_log_sum": lambda x, axes, keep: np.log(np.sum(_wide(x), axis=axes, keepdims=keep)),
    "reduce_log_sum_exp": lambda x, axes, keep: _log_sum_exp(_wide(x), axes, keep),
}


def _log_sum_exp(x, axes, keep):
    top = np.max(x, axis=axes, keepdims=True)
    out = np.log(np.sum(np.exp(x - top), axis=axes, keepdims=True)) + top
    return out if keep else np.squeeze(out, axis=axes)


def _reducer(fn):
    def run(c):
        x = c["x"]
        out = fn(x, _axes(c, x), c.bool("keep_dims"))
        return np.asarray(out).astype(x.dtype if x.dtype.kind != "f" else np.float32)

    return run


for _op, _fn in REDUCE.items():
    handles(_op)(_reducer(_fn))


def _arg(fn):
    def run(c):
        x, axis = c["x"], c.int("axis", -1)
        out = fn(x, axis=axis)
        return (np.expand_dims(out, axis) if c.bool("keep_dims") else out).astype(np.int32)

    return run


handles("reduce_argmax")(_arg(np.argmax))
handles("reduce_argmin")(_arg(np.argmin))
