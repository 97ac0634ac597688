"""ONNX's reductions (axes as an attribute before opset 18, ReduceSum's from 13, as an input after) and
ArgMax/ArgMin."""

from __future__ import annotations

import numpy as np
import torch

from stages.onnx.emitter import attrs
from stages.torch.from_onnx.table import OPS, axis_of, present

REDUCE = (
    "ReduceMean",
    "ReduceSum",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceSumSquare",
    "ReduceLogSum",
    "ReduceLogSumExp",
)


def _out(node) -> str:
    return node.output[0]


def _reduce(g, op: str, x, dims: list[int], keep: bool, name: str):
    if op == "ReduceMean":
        return g.call(torch.mean, x, dim=dims, keepdim=keep, name=name)
    if op == "ReduceMax":
        return g.call(torch.amax, x, dim=dims, keepdim=keep, name=name)
    if op == "ReduceMin":
        return g.call(torch.amin, x, dim=dims, keepdim=keep, name=name)
    if op == "ReduceLogSumExp":
        return g.call(torch.logsumexp, x, dim=dims, keepdim=keep, name=name)
    if op == "ReduceProd":  # torch.prod takes one dimension at a time
        for dim in sorted(dims, reverse=True):
            x = g.call(torch.prod, x, dim, keepdim=True)
        return g.call(torch.squeeze, x, tuple(dims), name=name) if not keep else x
    if op == "ReduceL1":
        x = g.call(torch.abs, x)
    elif op in ("ReduceL2", "ReduceSumSquare"):
        x = g.call(torch.mul, x, x)
    total = g.call(
        torch.sum, x, dim=dims, keepdim=keep, name=name if op in ("ReduceSum", "ReduceL1", "ReduceSumSquare") else None
    )
    if op == "ReduceL2":
        return g.call(torch.sqrt, total, name=name)
    if op == "ReduceLogSum":
        return g.call(torch.log, total, name=name)
    return total


@OPS.handles(*REDUCE)
def reduce(g, node):
    a = attrs(node)
    rank = g.rank(node.input[0])
    if "axes" in a:
        axes = [int(v) for v in a["axes"]]
    elif present(node, 1):
        axes = [int(v) for v in np.asarray(g.constant(node.input[1], node, "axes")).reshape(-1)]
    else:
        axes = []
    x = g.tensor(node.input[0])
    if not axes and a.get("noop_with_empty_axes", 0):
        return x
    dims = sorted(axis_of(v, rank, node) for v in axes) if axes else list(range(rank))
    y = _reduce(g, node.op_type, x, dims, bool(a.get("keepdims", 1)), _out(node))
    if y.meta["at"][g.batches[0]].dtype != g.dtype(node.input[0]):  # torch sums integers as int64
        y = g.call(torch.Tensor.to, y, g.dtype(node.input[0]))
    return y


@OPS.handles("ArgMax", "ArgMin")
def arg_reduce(g, node):
    a = attrs(node)
    axis = axis_of(int(a.get("axis", 0)), g.rank(node.input[0]), node)
    keep = bool(a.get("keepdims", 1))
    fn = torch.argmax if node.op_type == "ArgMax" else torch.argmin
    x = g.tensor(node.input[0])
    if not a.get("select_last_index", 0):  # torch, like ONNX's default, gives the first of equal values
        return g.call(fn, x, dim=axis, keepdim=keep, name=_out(node))
    n = g.static_dims(node.input[0], [axis], node, "the reduced axis")[0]
    first_from_end = g.call(fn, g.call(torch.flip, x, [axis]), dim=axis, keepdim=keep)
    return g.call(torch.rsub, first_from_end, n - 1, name=_out(node))  # n - 1 - index
