"""Elementwise ops of one input: sqrt, rsqrt, exp, log, abs, floor, erf, cast …"""

from __future__ import annotations

import numpy as np

from stages.coreml.mil.ops.activation import erf
from stages.coreml.mil.ops.registry import handles
from stages.coreml.mil.values import NUMPY


def _float(fn):
    return lambda c: fn(c["x"].astype(np.float64)).astype(np.float32)


SIMPLE = {
    "sqrt": np.sqrt,
    "exp": np.exp,
    "exp2": np.exp2,
    "abs": np.abs,
    "floor": np.floor,
    "ceil": np.ceil,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "atanh": np.arctanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "sign": np.sign,
    "square": np.square,
    "erf": erf,
}
for _op, _fn in SIMPLE.items():
    handles(_op)(_float(_fn))


@handles("round")
def round_(c):
    return np.round(c["x"])  # half to even, as MIL's round


@handles("rsqrt")
def rsqrt(c):
    return (1.0 / np.sqrt(c["x"].astype(np.float64) + c.float("epsilon", 1e-12))).astype(np.float32)


@handles("inverse")
def inverse(c):
    return (1.0 / (c["x"].astype(np.float64) + c.float("epsilon", 1e-4))).astype(np.float32)


@handles("log")
def log(c):
    return np.log(c["x"].astype(np.float64) + c.float("epsilon", 0.0)).astype(np.float32)


@handles("threshold")
def threshold(c):
    return np.maximum(c["x"], c.float("alpha"))


@handles("logical_not")
def logical_not(c):
    return np.logical_not(c["x"])


@handles("cast")
def cast(c):
    dtype = c["dtype"]
    name = {
        "fp16": "FLOAT16",
        "fp32": "FLOAT32",
        "int32": "INT32",
        "int16": "INT16",
        "int8": "INT8",
        "uint8": "UINT8",
        "uint16": "UINT16",
        "bool": "BOOL",
    }.get(dtype, dtype.upper())
    x = c["x"]
    if NUMPY[name] is not np.float32 and x.dtype.kind == "f" and name != "BOOL":
        x = np.trunc(x)  # float to int truncates toward zero
    return x.astype(NUMPY[name])


@handles("identity")
def identity(c):
    return c["x"]
