"""ONNX's ops that move data without computing on it: Reshape, Flatten, Transpose, Concat, Split, Slice,
Squeeze/Unsqueeze, Gather, Expand, Tile, Pad, DepthToSpace/SpaceToDepth; and the few that make tensors
from sizes (ConstantOfShape, Range) when those sizes change with the batch (else they are evaluated when
the graph is built, see build.py)."""

from __future__ import annotations

import math
import operator

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F

from stages.onnx.emitter import Unsupported, attrs
from stages.torch.from_onnx.graph import NeedsStaticBatch, torch_dtype
from stages.torch.from_onnx.ops.nn import torch_pad
from stages.torch.from_onnx.table import OPS, axis_of, present, text

OPEN_END = 1 << 62  # ONNX's "to the end" (INT64_MAX and the like)


def _out(node) -> str:
    return node.output[0]


def _axes(g, node, index: int, attribute: str = "axes") -> list[int] | None:
    """Axes given as an attribute (older opsets) or as a constant input (newer)."""
    a = attrs(node)
    if attribute in a:
        return [int(v) for v in a[attribute]]
    name = present(node, index)
    return None if name is None else [int(v) for v in np.asarray(g.constant(name, node, attribute)).reshape(-1)]


@OPS.handles("Shape", "Size")
def shape(g, node):
    raise Unsupported(
        f"{node.op_type} node {node.name!r}: the shape of {node.input[0]} is not known when the graph is built"
    )


@OPS.handles("Reshape")
def reshape(g, node):
    a = attrs(node)
    sizes = [int(d) for d in a["shape"]] if "shape" in a else g.ints(node.input[1], node, "shape")
    if not a.get("allowzero", 0):  # 0: this dimension of the input, as it is
        sizes = [g.dim(node.input[0], i) if isinstance(d, int) and d == 0 else d for i, d in enumerate(sizes)]
    return g.call(torch.reshape, g.tensor(node.input[0]), sizes, name=_out(node))


@OPS.handles("Flatten")
def flatten(g, node):
    rank = g.rank(node.input[0])
    axis = int(attrs(node).get("axis", 1))
    axis = axis + rank if axis < 0 else axis
    x = g.tensor(node.input[0])
    if axis == 0:
        return g.call(torch.reshape, x, [1, -1], name=_out(node))
    if axis == rank:
        return g.call(torch.unsqueeze, g.call(torch.flatten, x), 1, name=_out(node))
    if axis > 1:
        x = g.call(torch.flatten, x, 0, axis - 1)
    return g.call(torch.flatten, x, 1, name=_out(node))


@OPS.handles("Transpose")
def transpose(g, node):
    perm = attrs(node).get("perm") or list(reversed(range(g.rank(node.input[0]))))
    return g.call(torch.permute, g.tensor(node.input[0]), [int(p) for p in perm], name=_out(node))


@OPS.handles("Concat")
def concat(g, node):
    names = [name for name in node.input if name]
    axis = axis_of(int(attrs(node)["axis"]), g.rank(names[0]), node)
    return g.call(torch.cat, [g.tensor(name) for name in names], dim=axis, name=_out(node))


@OPS.handles("Split")
def split(g, node):
    a = attrs(node)
    axis = axis_of(int(a.get("axis", 0)), g.rank(node.input[0]), node)
    sizes = (
        [int(v) for v in a["split"]]
        if "split" in a
        else g.ints(node.input[1], node, "split")
        if present(node, 1)
        else None
    )
    if sizes is None:
        dim = g.static_dims(node.input[0], [axis], node, "the split axis")[0]
        if "num_outputs" in a:  # opset 18: the last part is the smaller one
            count = int(a["num_outputs"])
            chunk = math.ceil(dim / count)
            sizes = [chunk] * (count - 1) + [dim - chunk * (count - 1)]
        else:
            if dim % len(node.output):
                raise Unsupported(f"Split node {node.name!r}: {dim} does not split into {len(node.output)} equal parts")
            sizes = [dim // len(node.output)] * len(node.output)
    parts = g.call(torch.split, g.tensor(node.input[0]), sizes, dim=axis)
    return [g.call(operator.getitem, parts, i, name=name) for i, name in enumerate(node.output)]


def _bound(value, open_end):
    """A slice bound: None where it means the end (torch, like Python, clamps the others as ONNX does)."""
    if isinstance(value, int) and (value >= OPEN_END or value <= -OPEN_END):
        return open_end(value)
    return value


@OPS.handles("Slice")
def slice_(g, node):
    a = attrs(node)
    rank = g.rank(node.input[0])
    if "starts" in a:  # opset < 10
        starts, ends, axes, steps = list(a["starts"]), list(a["ends"]), a.get("axes"), None
    else:
        starts, ends = g.ints(node.input[1], node, "starts"), g.ints(node.input[2], node, "ends")
        axes = _axes(g, node, 3)
        steps = (
            [int(v) for v in np.asarray(g.constant(node.input[4], node, "steps")).reshape(-1)]
            if present(node, 4)
            else None
        )
    axes = [axis_of(int(x), rank, node) for x in (range(len(starts)) if axes is None else axes)]
    steps = [1] * len(axes) if steps is None else steps
    index: list = [slice(None)] * rank
    flips = []
    for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
        if step == 0:
            raise Unsupported(f"Slice node {node.name!r}: a step of 0")
        if step > 0:
            start = _bound(start, lambda v: None if v < 0 else OPEN_END)
            end = _bound(end, lambda v: None if v > 0 else 0)
            if isinstance(end, int) and end > 0 and g.varies(node.input[0], axis):
                g.limit_batch(node.input[0], axis, end)
            index[axis] = slice(None if start == 0 else start, end, None if step == 1 else step)
            continue
        # torch slices forwards only: flip the axis, and slice the mirrored range
        if not (isinstance(start, int) and isinstance(end, int)):
            raise Unsupported(f"Slice node {node.name!r}: a negative step with bounds that change with the batch")
        n = g.static_dims(node.input[0], [axis], node, "a reversed axis")[0]
        first = min(max(start + n if start < 0 else start, 0), n - 1)
        stop = min(max(end + n if end < 0 else end, -1), n - 1)
        flips.append(axis)
        index[axis] = slice(n - 1 - first, n - 1 - stop, -step)
    x = g.tensor(node.input[0])
    if flips:
        x = g.call(torch.flip, x, flips)
    return g.call(operator.getitem, x, tuple(index), name=_out(node))


@OPS.handles("Squeeze")
def squeeze(g, node):
    rank = g.rank(node.input[0])
    axes = _axes(g, node, 1)
    if axes is None:  # every dimension of size 1: it must be 1 whatever the batch
        ones = [i for i in range(rank) if g.shape(node.input[0])[i] == 1]
        if any(g.varies(node.input[0], i) for i in ones):
            raise NeedsStaticBatch(f"Squeeze node {node.name!r} without axes squeezes the batch when it is 1")
        axes = ones
    axes = sorted(axis_of(x, rank, node) for x in axes)
    if not axes:
        return g.tensor(node.input[0])
    return g.call(torch.squeeze, g.tensor(node.input[0]), tuple(axes), name=_out(node))


@OPS.handles("Unsqueeze")
def unsqueeze(g, node):
    axes = _axes(g, node, 1)
    if axes is None:
        raise Unsupported(f"Unsqueeze node {node.name!r} has no axes")
    rank = g.rank(node.input[0]) + len(axes)
    x = g.tensor(node.input[0])
    ordered = sorted(axis_of(a, rank, node) for a in axes)
    for i, axis in enumerate(ordered):
        x = g.call(torch.unsqueeze, x, axis, name=_out(node) if i == len(ordered) - 1 else None)
    return x


def _indices(g, name: str) -> torch.fx.Node:
    indices = g.tensor(name, buffer=True)
    return indices if g.dtype(name) == torch.int64 else g.call(torch.Tensor.to, indices, torch.int64)


@OPS.handles("Gather")
def gather(g, node):
    axis = axis_of(int(attrs(node).get("axis", 0)), g.rank(node.input[0]), node)
    x, name = g.tensor(node.input[0]), node.input[1]
    if name in g.constants and np.asarray(g.constants[name]).ndim == 0:
        return g.call(torch.select, x, axis, int(g.constants[name]), name=_out(node))
    # one advanced index: its dimensions replace `axis`, negative indices count from the end, as ONNX's
    return g.call(operator.getitem, x, (*(slice(None),) * axis, _indices(g, name)), name=_out(node))


@OPS.handles("GatherElements")
def gather_elements(g, node):
    axis = axis_of(int(attrs(node).get("axis", 0)), g.rank(node.input[0]), node)
    indices = _indices(g, node.input[1])
    dim = g.dim(node.input[0], axis)
    wrapped = g.call(torch.where, g.call(torch.lt, indices, 0), g.call(torch.add, indices, dim), indices)
    return g.call(torch.gather, g.tensor(node.input[0]), axis, wrapped, name=_out(node))


@OPS.handles("GatherND")
def gather_nd(g, node):
    """data[b0, …, i0, …, ik-1]: the batch_dims leading axes walked together (an arange along each, shaped to
    broadcast against the indices), then one advanced index per column of the indices' last axis."""
    batch_dims = int(attrs(node).get("batch_dims", 0))
    indices, rank = _indices(g, node.input[1]), g.rank(node.input[1])
    depth = g.shape(node.input[1])[-1]
    if g.varies(node.input[1], rank - 1):
        raise Unsupported(
            f"GatherND node {node.name!r}: the last axis of its indices ({node.input[1]}) changes with the batch"
        )
    walked = []
    for axis in range(batch_dims):
        steps = g.call(torch.arange, g.dim(node.input[0], axis))
        walked.append(g.call(torch.Tensor.reshape, steps, [-1 if i == axis else 1 for i in range(rank - 1)]))
    columns = [g.call(operator.getitem, indices, (Ellipsis, column)) for column in range(depth)]
    return g.call(operator.getitem, g.tensor(node.input[0]), tuple(walked + columns), name=_out(node))


@OPS.handles("Expand")
def expand(g, node):
    sizes = g.ints(node.input[1], node, "shape")
    rank = g.rank(node.input[0])
    out_rank = max(rank, len(sizes))
    target = []
    for i in range(out_rank):
        j, k = i - (out_rank - len(sizes)), i - (out_rank - rank)
        size = sizes[j] if j >= 0 else None
        # ONNX broadcasts both ways: a 1 in the shape keeps the input's dimension (torch's -1)
        target.append(-1 if size is None or (k >= 0 and isinstance(size, int) and size == 1) else size)
    return g.call(torch.Tensor.expand, g.tensor(node.input[0]), target, name=_out(node))


@OPS.handles("Tile")
def tile(g, node):
    return g.call(torch.Tensor.repeat, g.tensor(node.input[0]), g.ints(node.input[1], node, "repeats"), name=_out(node))


@OPS.handles("ConstantOfShape")
def constant_of_shape(g, node):
    from onnx import numpy_helper

    value = attrs(node).get("value")
    value = numpy_helper.to_array(value).reshape(-1) if value is not None else np.zeros(1, np.float32)
    return g.call(
        torch.full,
        g.ints(node.input[0], node, "shape"),
        value[0].item(),
        dtype=torch_dtype(value.dtype),
        name=_out(node),
    )


@OPS.handles("Range")
def range_(g, node):
    bounds = []
    for name, what in zip(node.input, ("start", "limit", "delta"), strict=True):
        values = (
            g.ints(name, node, what)
            if g.dtype(name) in (torch.int32, torch.int64)
            else [np.asarray(g.constant(name, node, what)).reshape(-1)[0].item()]
        )
        bounds.append(values[0])
    return g.call(torch.arange, *bounds, dtype=g.dtype(node.input[0]), name=_out(node))


PAD_MODES = {"reflect": "reflect", "edge": "replicate", "wrap": "circular"}


@OPS.handles("Pad")
def pad(g, node):
    a = attrs(node)
    mode = text(a.get("mode", "constant"))
    rank = g.rank(node.input[0])
    if "pads" in a:  # opset < 11
        widths, value, axes = [int(v) for v in a["pads"]], float(a.get("value", 0.0)), None
    else:
        widths = g.ints(node.input[1], node, "pads")
        if not all(isinstance(w, int) for w in widths):
            raise Unsupported(f"Pad node {node.name!r}: pads that change with the batch")
        value = (
            np.asarray(g.constant(node.input[2], node, "constant_value")).reshape(-1)[0].item()
            if present(node, 2)
            else 0
        )
        axes = _axes(g, node, 3)
    axes = list(range(rank)) if axes is None else [axis_of(x, rank, node) for x in axes]
    begin, end = [0] * rank, [0] * rank
    for i, axis in enumerate(axes):
        begin[axis], end[axis] = widths[i], widths[i + len(axes)]
    padded = [i for i in range(rank) if begin[i] or end[i]]
    x = g.tensor(node.input[0])
    if not padded:
        return x
    low = min(padded)
    widths = torch_pad(begin[low:], end[low:])
    if mode == "constant":
        value = float(value) if g.dtype(node.input[0]).is_floating_point else int(value)
        return g.call(F.pad, x, widths, value=value, name=_out(node))
    if mode not in PAD_MODES:
        raise Unsupported(f"Pad node {node.name!r}: mode {mode}")
    trailing = rank - low
    if trailing > 3 or rank - trailing not in (1, 2) or any(w < 0 for w in widths):
        raise Unsupported(
            f"Pad node {node.name!r}: torch pads in {mode} mode only the last 1-3 dimensions after a "
            f"batch (and channel) axis, by non-negative widths; here pads {begin + end} on rank {rank}"
        )
    return g.call(F.pad, x, widths, mode=PAD_MODES[mode], name=_out(node))


@OPS.handles("DepthToSpace", "SpaceToDepth")
def depth_space(g, node):
    a = attrs(node)
    block = int(a["blocksize"])
    if g.rank(node.input[0]) != 4:
        raise Unsupported(f"{node.op_type} node {node.name!r}: a {g.rank(node.input[0])}-d input")
    c, h, w = g.static_dims(node.input[0], (1, 2, 3), node, "channels and spatial size")
    n = g.dim(node.input[0], 0)
    x = g.tensor(node.input[0])
    if node.op_type == "DepthToSpace":
        if text(a.get("mode", "DCR")) == "CRD":
            return g.call(F.pixel_shuffle, x, block, name=_out(node))
        x = g.call(torch.reshape, x, [n, block, block, c // block**2, h, w])
        x = g.call(torch.permute, x, [0, 3, 4, 1, 5, 2])
        return g.call(torch.reshape, x, [n, c // block**2, h * block, w * block], name=_out(node))
    x = g.call(torch.reshape, x, [n, c, h // block, block, w // block, block])
    x = g.call(torch.permute, x, [0, 3, 5, 1, 2, 4])
    return g.call(torch.reshape, x, [n, c * block**2, h // block, w // block], name=_out(node))
