"""Ops that move values without computing new ones: reshape, transpose, concat, split, slicing, gather, pad,
tile, shape …"""

from __future__ import annotations

import numpy as np

from stages.coreml.mil.ops.registry import handles


def _many(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


@handles("reshape")
def reshape(c):
    x, shape = c["x"], c.ints("shape")
    shape = [x.shape[i] if d == 0 and len(shape) == x.ndim else d for i, d in enumerate(shape)]
    return x.reshape(shape)


@handles("transpose")
def transpose(c):
    return np.transpose(c["x"], c.ints("perm"))


@handles("concat")
def concat(c):
    values = _many(c["values"])
    axis = c.int("axis")
    if c.bool("interleave"):
        return np.stack(values, axis=axis + 1 if axis >= 0 else axis).reshape(np.concatenate(values, axis=axis).shape)
    return np.concatenate(values, axis=axis)


@handles("stack")
def stack(c):
    return np.stack(_many(c["values"]), axis=c.int("axis", 0))


@handles("split")
def split(c):
    x, axis = c["x"], c.int("axis")
    sizes = c.ints("split_sizes")
    if sizes is None:
        parts = c.int("num_splits")
        sizes = [x.shape[axis] // parts] * parts
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


@handles("slice_by_index")
def slice_by_index(c):
    x = c["x"]
    rank = x.ndim
    begin, end = c.ints("begin"), c.ints("end")
    stride = c.ints("stride", [1] * rank)
    begin_mask = [bool(v) for v in np.asarray(c.get("begin_mask", [False] * rank)).reshape(-1)]
    end_mask = [bool(v) for v in np.asarray(c.get("end_mask", [False] * rank)).reshape(-1)]
    squeeze = [bool(v) for v in np.asarray(c.get("squeeze_mask", [False] * rank)).reshape(-1)]
    index = []
    for axis in range(rank):
        if squeeze[axis]:
            index.append(begin[axis])
            continue
        index.append(
            slice(None if begin_mask[axis] else begin[axis], None if end_mask[axis] else end[axis], stride[axis])
        )
    return x[tuple(index)]


@handles("slice_by_size")
def slice_by_size(c):
    x, begin, size = c["x"], c.ints("begin"), c.ints("size")
    index = [
        slice(b % x.shape[a] if x.shape[a] else 0, None if s == -1 else (b % x.shape[a]) + s)
        for a, (b, s) in enumerate(zip(begin, size, strict=True))
    ]
    return x[tuple(index)]


@handles("squeeze")
def squeeze(c):
    x, axes = c["x"], c.ints("axes")
    return np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(axes))


@handles("expand_dims")
def expand_dims(c):
    x, axes = c["x"], c.ints("axes")
    rank = x.ndim + len(axes)
    return np.expand_dims(x, tuple(a % rank for a in axes))


@handles("flatten2d")
def flatten2d(c):
    x, axis = c["x"], c.int("axis", 1)
    axis %= max(x.ndim, 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


@handles("gather")
def gather(c):
    x, indices, axis = c["x"], np.asarray(c["indices"]).astype(np.int64), c.int("axis", 0)
    batch_dims = c.int("batch_dims", 0)
    indices = np.where(indices < 0, indices + x.shape[axis], indices)
    if batch_dims == 0:
        return np.take(x, indices, axis=axis)
    raise NotImplementedError("gather with batch_dims")


@handles("gather_along_axis")
def gather_along_axis(c):
    x, indices, axis = c["x"], np.asarray(c["indices"]).astype(np.int64), c.int("axis", 0)
    indices = np.where(indices < 0, indices + x.shape[axis], indices)
    return np.take_along_axis(x, indices, axis=axis)


@handles("gather_nd")
def gather_nd(c):
    x, indices = c["x"], np.asarray(c["indices"]).astype(np.int64)
    depth = indices.shape[-1]
    return x[tuple(np.moveaxis(indices, -1, 0))] if depth else x


@handles("tile")
def tile(c):
    return np.tile(c["x"], c.ints("reps"))


@handles("pad")
def pad(c):
    x, pads, mode = c["x"], c.ints("pad"), c.get("mode", "constant")
    pairs = [(0, 0)] * (x.ndim - len(pads) // 2) + [(pads[2 * i], pads[2 * i + 1]) for i in range(len(pads) // 2)]
    if mode == "constant":
        return np.pad(x, pairs, mode="constant", constant_values=c.float("constant_val", 0.0))
    return np.pad(x, pairs, mode={"reflect": "reflect", "replicate": "edge"}[mode])


@handles("shape")
def shape(c):
    return np.asarray(c["x"].shape, np.int32)


@handles("fill")
def fill(c):
    value = c.get("value", 0.0)
    return np.full(c.ints("shape"), value, dtype=np.asarray(value).dtype)


@handles("fill_like")
def fill_like(c):
    value = c.get("value", 0.0)
    return np.full(np.asarray(c["ref_tensor"]).shape, value, dtype=np.asarray(value).dtype)


@handles("range_1d")
def range_1d(c):
    start, end, step = c["start"], c["end"], c["step"]
    return np.arange(start, end, step)


@handles("reverse")
def reverse(c):
    x, axes = c["x"], c.ints("axes")
    return np.flip(x, axis=tuple(axes) if axes is not None else None)


@handles("depth_to_space")
def depth_to_space(c):
    x, b = c["x"], c.int("block_size")
    n, ch, h, w = x.shape
    return x.reshape(n, b, b, ch // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2).reshape(n, ch // (b * b), h * b, w * b)


@handles("pixel_shuffle")
def pixel_shuffle(c):
    x, r = c["x"], c.int("upscale_factor")
    n, ch, h, w = x.shape
    return x.reshape(n, ch // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, ch // (r * r), h * r, w * r)


@handles("space_to_depth")
def space_to_depth(c):
    x, b = c["x"], c.int("block_size")
    n, ch, h, w = x.shape
    return x.reshape(n, ch, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4).reshape(n, ch * b * b, h // b, w // b)


@handles("cumsum")
def cumsum(c):
    x, axis = c["x"], c.int("axis", 0)
    if c.bool("reverse"):
        x = np.flip(x, axis)
    out = np.cumsum(x, axis=axis, dtype=np.float64 if x.dtype.kind == "f" else x.dtype)
    if c.bool("exclusive"):
        out = np.concatenate([np.zeros_like(np.take(out, [0], axis=axis)), np.delete(out, -1, axis=axis)], axis=axis)
    out = np.flip(out, axis) if c.bool("reverse") else out
    return out.astype(x.dtype if x.dtype.kind != "f" else np.float32)


@handles("topk")
def topk(c):
    x, k, axis = c["x"], c.int("k", 1), c.int("axis", -1)
    ascending = c.bool("ascending")
    order = np.argsort(x if ascending else -x, axis=axis, kind="stable")
    index = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, index, axis=axis), index.astype(np.int32)


@handles("argsort")
def argsort(c):
    x, axis = c["x"], c.int("axis", -1)
    return np.argsort(x if c.bool("ascending") else -x, axis=axis, kind="stable").astype(np.int32)


@handles("band_part")
def band_part(c):
    x = c["x"]
    lower, upper = c.int("lower", -1), c.int("upper", -1)
    rows, cols = np.indices(x.shape[-2:])
    keep = ((lower < 0) | (rows - cols <= lower)) & ((upper < 0) | (cols - rows <= upper))
    return np.where(keep, x, 0).astype(x.dtype)


@handles("one_hot")
def one_hot(c):
    indices, depth, axis = np.asarray(c["indices"]).astype(np.int64), c.int("one_hot_vector_size"), c.int("axis", -1)
    on, off = c.get("on_value", 1), c.get("off_value", 0)
    hot = np.moveaxis(np.eye(depth, dtype=bool)[indices], -1, axis)
    return np.where(hot, on, off)


@handles("non_zero")
def non_zero(c):
    return np.argwhere(c["x"]).astype(np.int32)


@handles("crop")
def crop(c):
    x, rows, cols = c["x"], c.ints("crop_height"), c.ints("crop_width")
    return x[..., rows[0] : x.shape[-2] - rows[1], cols[0] : x.shape[-1] - cols[1]]
