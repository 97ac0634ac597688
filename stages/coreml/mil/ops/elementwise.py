"""Elementwise ops of two inputs, broadcast as numpy does: add, mul, real_div, pow, maximum, comparisons …"""

from __future__ import annotations

import numpy as np

from stages.coreml.mil.ops.registry import handles


def _same(x, y):
    """Both operands in one dtype (a float constant with an int tensor stays float)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype != y.dtype:
        common = np.result_type(x, y)
        x, y = x.astype(common), y.astype(common)
    return x, y


def _binary(fn):
    def run(c):
        return fn(*_same(c["x"], c["y"]))

    return run


def _float_div(x, y):
    out = np.true_divide(x, y)
    return out if x.dtype.kind == "f" else out.astype(x.dtype)


def _floor_div(x, y):
    return np.floor_divide(x, y) if x.dtype.kind != "f" else np.floor(x / y)


BINARY = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "real_div": _float_div,
    "floor_div": _floor_div,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "mod": np.mod,
    "pow": np.power,
    "equal": np.equal,
    "not_equal": np.not_equal,
    "less": np.less,
    "less_equal": np.less_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
}
for _op, _fn in BINARY.items():
    handles(_op)(_binary(_fn))


@handles("select")
def select(c):
    a, b = _same(c["a"], c["b"])
    return np.where(np.asarray(c["cond"]).astype(bool), a, b)
