"""Shape and indexing ops: reshapes, transposes, slices, gathers, scatters, padding, constants."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from stages.tfops.ops.types import tf_dtype
from stages.tfops.table import op
from stages.tfops.values import static


def _ints(tensor) -> list[int] | None:
    value = static(tensor)
    return None if value is None else [int(v) for v in np.ravel(value)]


def _given_ints(node, x, index: int, what: str, default=None) -> list[int] | None:
    """An optional input that must be known when the graph is built (`default` where it is not given: the
    attribute of the opset before it became an input)."""
    if len(x) <= index or x[index] is None:
        return default
    values = _ints(x[index])
    if values is None:
        raise ValueError(f"{node.op}'s {what} known only at run time is not supported")
    return values


@op("Constant")
def constant(node, x):
    from onnx import numpy_helper

    attrs = node.attrs
    if "value" in attrs:
        return tf.constant(numpy_helper.to_array(attrs["value"]))
    for key, dtype in (
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in attrs:
            return tf.constant(np.asarray(attrs[key], dtype=dtype))
    raise ValueError(f"Constant with {sorted(attrs)} is not supported")


@op("ConstantOfShape")
def constant_of_shape(node, x):
    from onnx import numpy_helper

    value = numpy_helper.to_array(node.attr("value")) if node.attr("value") is not None else np.zeros(1, np.float32)
    return tf.fill(tf.cast(x[0], tf.int32), tf.constant(value.reshape(())))


@op("Shape")
def shape(node, x):
    dims = tf.shape(x[0], out_type=tf.int64)
    start, end = node.attr("start", 0), node.attr("end")
    return dims[start:end] if (start or end is not None) else dims


@op("Size")
def size(node, x):
    return tf.size(x[0], out_type=tf.int64)


@op("Reshape")
def reshape(node, x):
    value = x[0]
    target = _ints(x[1])
    if target is not None and not node.attr("allowzero", 0) and 0 in target:
        have = tf.shape(value)
        return tf.reshape(value, [have[i] if d == 0 else d for i, d in enumerate(target)])
    if target is None and not node.attr("allowzero", 0):
        dims = tf.cast(x[1], tf.int32)
        have = tf.shape(value)[: tf.size(dims)]
        dims = tf.where(tf.equal(dims, 0), have, dims)
        return tf.reshape(value, dims)
    return tf.reshape(value, target if target is not None else tf.cast(x[1], tf.int32))


@op("Flatten")
def flatten(node, x):
    value, axis = x[0], node.attr("axis", 1)
    shape = tf.shape(value)
    axis = axis + value.shape.rank if axis < 0 else axis
    return tf.reshape(value, tf.stack([tf.reduce_prod(shape[:axis]), tf.reduce_prod(shape[axis:])]))


@op("Squeeze")
def squeeze(node, x):
    axes = _given_ints(node, x, 1, "axes", node.attr("axes"))
    return tf.squeeze(x[0], axis=list(axes) if axes else None)


@op("Unsqueeze")
def unsqueeze(node, x):
    axes = list(_given_ints(node, x, 1, "axes", node.attr("axes")))
    value = x[0]
    rank = value.shape.rank + len(axes)
    for axis in sorted(a % rank for a in axes):
        value = tf.expand_dims(value, axis)
    return value


@op("Transpose")
def transpose(node, x):
    perm = node.attr("perm")
    return tf.transpose(x[0], perm=list(perm) if perm is not None else None)


@op("Concat")
def concat(node, x):
    parts = [v for v in x if v is not None]
    dtype = parts[0].dtype
    return tf.concat([tf.cast(v, dtype) for v in parts], axis=node.attr("axis"))


@op("Split")
def split(node, x):
    value, axis = x[0], node.attr("axis", 0)
    sizes = _given_ints(node, x, 1, "split", node.attr("split"))
    if sizes:
        return tf.split(value, list(sizes), axis=axis)
    parts = node.attr("num_outputs", node.outputs)
    length = value.shape[axis]
    if length is not None and length % parts:  # opset 18: the last part is smaller
        step = -(-length // parts)
        return tf.split(value, [step] * (parts - 1) + [length - step * (parts - 1)], axis=axis)
    return tf.split(value, parts, axis=axis)


@op("Slice")
def slice_(node, x):
    value = x[0]
    if node.version < 10:
        starts, ends, axes, steps = node.attr("starts"), node.attr("ends"), node.attr("axes"), None
    else:
        starts, ends = _ints(x[1]), _ints(x[2])
        axes = _ints(x[3]) if len(x) > 3 and x[3] is not None else None
        steps = _ints(x[4]) if len(x) > 4 and x[4] is not None else None
        if starts is None or ends is None:
            return _dynamic_slice(value, x)
    rank = value.shape.rank
    axes = [a % rank for a in (axes or range(len(starts)))]
    steps = steps or [1] * len(axes)
    index = [slice(None)] * rank
    for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
        index[axis] = _bounds(start, end, step, value.shape[axis])
    return value[tuple(index)]


def _dynamic_slice(value, x):
    """Slice bounds known only at run time (axes and steps known): ONNX's clamping, a backwards slice
    as a forward one over the reversed axis, then one strided slice."""
    rank = value.shape.rank
    count = x[1].shape[0]
    axes = _ints(x[3]) if len(x) > 3 and x[3] is not None else list(range(count))
    steps = _ints(x[4]) if len(x) > 4 and x[4] is not None else [1] * count
    if axes is None or steps is None:
        raise ValueError("Slice axes or steps known only at run time are not supported")
    shape = tf.shape(value, out_type=tf.int64)
    # one element at a time by strided slices: TFLite's UNPACK has no int64 kernel
    begin, end, stride = [tf.constant(0, tf.int64)] * rank, [shape[i] for i in range(rank)], [1] * rank
    starts, ends = ([tf.cast(bounds, tf.int64)[i] for i in range(count)] for bounds in (x[1], x[2]))
    for i, axis in enumerate(a % rank for a in axes):
        dim, step = shape[axis], steps[i]
        first = tf.where(starts[i] < 0, starts[i] + dim, starts[i])
        last = tf.where(ends[i] < 0, ends[i] + dim, ends[i])
        if step < 0:
            value = tf.reverse(value, [axis])
            first, last = dim - 1 - tf.clip_by_value(first, 0, dim - 1), dim - 1 - tf.clip_by_value(last, -1, dim - 1)
        else:
            first, last = tf.clip_by_value(first, 0, dim), tf.clip_by_value(last, 0, dim)
        begin[axis], end[axis], stride[axis] = first, last, abs(step)
    return tf.strided_slice(value, tf.stack(begin), tf.stack(end), tf.constant(stride, tf.int64))


def _bounds(start: int, end: int, step: int, dim: int | None) -> slice:
    """ONNX's clamped slice bounds (TFLite's converter refuses bounds past the axis, TF clamps them)."""
    if dim is None:
        big = 2**62
        start = None if (step > 0 and start <= -big) or (step < 0 and start >= big) else start
        end = None if (step > 0 and end >= big) or (step < 0 and end <= -big) else end
        return slice(start, end, step)
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        return slice(min(max(start, 0), dim), min(max(end, 0), dim), step)
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return slice(start, None if end < 0 else end, step)


@op("Gather")
def gather(node, x):
    indices = tf.cast(x[1], tf.int64)
    axis = node.attr("axis", 0)
    size = tf.cast(tf.shape(x[0])[axis], tf.int64)
    return tf.gather(x[0], tf.where(indices < 0, indices + size, indices), axis=axis)


def _coordinates(value, indices, axis: int):
    """Per element of `indices` (an index along `axis`), its full coordinates in `value` (..., rank)."""
    indices = tf.cast(indices, tf.int64)
    size = tf.cast(tf.shape(value)[axis], tf.int64)
    grids = tf.meshgrid(
        *[tf.range(d, dtype=tf.int64) for d in tf.unstack(tf.shape(indices, out_type=tf.int64))], indexing="ij"
    )
    grids[axis] = tf.where(indices < 0, indices + size, indices)
    return tf.stack(grids, axis=-1)


@op("GatherElements")
def gather_elements(node, x):
    return tf.gather_nd(x[0], _coordinates(x[0], x[1], node.attr("axis", 0) % x[0].shape.rank))


@op("GatherND")
def gather_nd(node, x):
    return tf.gather_nd(x[0], tf.cast(x[1], tf.int64), batch_dims=node.attr("batch_dims", 0))


@op("ScatterND")
def scatter_nd(node, x):
    reduction = node.attr("reduction", "none")
    fn = {
        "none": tf.tensor_scatter_nd_update,
        "add": tf.tensor_scatter_nd_add,
        "mul": None,
        "max": tf.tensor_scatter_nd_max,
        "min": tf.tensor_scatter_nd_min,
    }[reduction]
    if fn is None:
        raise ValueError("ScatterND with reduction='mul' is not supported")
    return fn(x[0], tf.cast(x[1], tf.int64), x[2])


@op("ScatterElements", "Scatter")
def scatter_elements(node, x):
    value, updates = x[0], x[2]
    coordinates = tf.reshape(_coordinates(value, x[1], node.attr("axis", 0) % value.shape.rank), [-1, value.shape.rank])
    flat = tf.reshape(updates, [-1])
    fn = {
        "none": tf.tensor_scatter_nd_update,
        "add": tf.tensor_scatter_nd_add,
        "max": tf.tensor_scatter_nd_max,
        "min": tf.tensor_scatter_nd_min,
    }[node.attr("reduction", "none")]
    return fn(value, coordinates, flat)


@op("Expand")
def expand(node, x):
    target = tf.cast(x[1], tf.int32)
    return (
        x[0] * tf.ones(tf.broadcast_dynamic_shape(tf.shape(x[0]), target), dtype=x[0].dtype)
        if x[0].dtype != tf.bool
        else tf.logical_and(x[0], tf.ones(tf.broadcast_dynamic_shape(tf.shape(x[0]), target), dtype=tf.bool))
    )


@op("Tile")
def tile(node, x):
    return tf.tile(x[0], tf.cast(x[1], tf.int32))


@op("Range")
def range_(node, x):
    return tf.range(x[0], x[1], x[2])


@op("Pad")
def pad(node, x):
    value = x[0]
    rank = value.shape.rank
    if node.version < 11:
        pads, constant = node.attr("pads"), node.attr("value", 0.0)
        axes = list(range(rank))
    else:
        pads = _ints(x[1])
        constant = x[2] if len(x) > 2 and x[2] is not None else 0
        axes = _ints(x[3]) if len(x) > 3 and x[3] is not None else list(range(rank))
        if pads is None and node.attr("mode", "constant") == "constant" and axes is not None:
            # pads known only at run time (non-negative): TFLite's PAD takes them as a tensor, one row
            # per axis (the axes not named get none)
            pairs = tf.transpose(tf.reshape(tf.cast(x[1], tf.int32), [2, len(axes)]))
            named = [a % rank for a in axes]
            paddings = pairs if named == list(range(rank)) else tf.scatter_nd([[a] for a in named], pairs, [rank, 2])
            return tf.pad(
                value,
                paddings,
                constant_values=tf.cast(tf.reshape(constant, []), value.dtype)
                if isinstance(constant, tf.Tensor)
                else constant,
            )
    axes = [a % rank for a in axes]
    begin, end = [0] * rank, [0] * rank
    for i, axis in enumerate(axes):
        begin[axis], end[axis] = pads[i], pads[i + len(axes)]
    # negative pads crop
    if any(p < 0 for p in begin + end):
        index = tuple(slice(-b if b < 0 else None, e if e < 0 else None) for b, e in zip(begin, end, strict=True))
        value = value[index]
        begin, end = [max(b, 0) for b in begin], [max(e, 0) for e in end]
    mode = node.attr("mode", "constant")
    paddings = [[b, e] for b, e in zip(begin, end, strict=True)]
    if mode == "constant":
        return tf.pad(
            value,
            paddings,
            constant_values=tf.cast(tf.reshape(constant, []), value.dtype)
            if isinstance(constant, tf.Tensor)
            else constant,
        )
    if mode == "reflect":
        return tf.pad(value, paddings, mode="REFLECT")
    if mode == "edge":
        for axis, (b, e) in enumerate(paddings):
            if b or e:
                first = tf.gather(value, [0] * b, axis=axis) if b else None
                last_index = value.shape[axis] - 1 if value.shape[axis] is not None else tf.shape(value)[axis] - 1
                last = tf.gather(value, tf.fill([e], last_index), axis=axis) if e else None
                value = tf.concat([p for p in (first, value, last) if p is not None], axis=axis)
        return value
    if mode == "wrap":  # the other end's values, as numpy's "wrap"
        for axis, (b, e) in enumerate(paddings):
            size = value.shape[axis]
            if (b or e) and (size is None or max(b, e) > size):
                raise ValueError(f"Pad mode 'wrap' by more than the axis' size {size}")
            if b or e:
                index = [slice(None)] * value.shape.rank
                parts = []
                if b:
                    index[axis] = slice(size - b, size)
                    parts.append(value[tuple(index)])
                parts.append(value)
                if e:
                    index[axis] = slice(0, e)
                    parts.append(value[tuple(index)])
                value = tf.concat(parts, axis=axis)
        return value
    raise ValueError(f"Pad mode {mode!r} is not supported")


@op("Trilu")
def trilu(node, x):
    value = x[0]
    k = tf.cast(tf.reshape(x[1], []), tf.int32) if len(x) > 1 and x[1] is not None else 0
    rows, cols = tf.shape(value)[-2], tf.shape(value)[-1]
    i = tf.range(rows)[:, None]
    j = tf.range(cols)[None, :]
    keep = (j - i >= k) if node.attr("upper", 1) else (j - i <= k)
    return tf.where(keep, value, tf.zeros_like(value))


@op("OneHot")
def one_hot(node, x):
    indices, depth, values = x
    depth = tf.cast(tf.reshape(depth, []), tf.int64)
    indices = tf.cast(indices, tf.int64)
    indices = tf.where(indices < 0, indices + depth, indices)
    return tf.one_hot(
        indices, tf.cast(depth, tf.int32), on_value=values[1], off_value=values[0], axis=node.attr("axis", -1)
    )


@op("DepthToSpace")
def depth_to_space(node, x):
    value, block = x[0], node.attr("blocksize")
    if node.attr("mode", "DCR") == "DCR":
        return tf.transpose(tf.nn.depth_to_space(tf.transpose(value, [0, 2, 3, 1]), block), [0, 3, 1, 2])
    n, c, h, w = tf.unstack(tf.shape(value))
    cr = tf.reshape(value, tf.stack([n, c // (block * block), block, block, h, w]))
    cr = tf.transpose(cr, [0, 1, 4, 2, 5, 3])
    return tf.reshape(cr, tf.stack([n, c // (block * block), h * block, w * block]))


@op("SpaceToDepth")
def space_to_depth(node, x):
    return tf.transpose(tf.nn.space_to_depth(tf.transpose(x[0], [0, 2, 3, 1]), node.attr("blocksize")), [0, 3, 1, 2])


@op("NonZero")
def non_zero(node, x):
    return tf.transpose(tf.where(tf.not_equal(x[0], tf.zeros_like(x[0]))))


@op("Einsum")
def einsum(node, x):
    """Einsum as transposes, sums and batched matrix products (TFLite has no Einsum kernel: TF's converter
    lowers only some equations). Operands are folded left to right; an index summed in one operand only is
    summed first. Repeated indices within one operand (diagonals) and broadcast ellipses are refused."""
    equation = node.attr("equation").replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if "." in equation or any(len(set(t)) != len(t) for t in terms):
        raise ValueError(f"Einsum {equation!r}: ellipses and repeated indices within an operand are not supported")
    if not arrow:  # implicit output: the indices seen once, in alphabetical order
        output = "".join(sorted(c for c in set(inputs) if inputs.count(c) == 1 and c != ","))
    dtype = x[0].dtype
    wide = tf.float32 if dtype == tf.float64 else dtype  # TFLite has no float64 kernels
    operands = list(zip(terms, [tf.cast(v, wide) for v in x], strict=True))
    term, value = operands[0]
    for index, (other_term, other) in enumerate(operands[1:], start=1):
        later = output + "".join(t for t, _ in operands[index + 1 :])
        term, value = _contract(term, value, other_term, other, later)
    term, value = _sum_out(term, value, output)
    value = tf.transpose(value, [term.index(c) for c in output]) if term != output else value
    return tf.cast(value, dtype) if wide != dtype else value


def _sum_out(term: str, value, keep: str):
    """`value` summed over the indices of `term` that `keep` does not have."""
    axes = [i for i, c in enumerate(term) if c not in keep]
    if not axes:
        return term, value
    return "".join(c for c in term if c in keep), tf.reduce_sum(value, axes)


def _contract(a_term: str, a, b_term: str, b, later: str):
    """Two operands as one: batch indices (in both, still needed), contracted ones (in both, not needed
    later), and each side's own, as one batched matrix product [batch, left, k] x [batch, k, right]."""
    a_term, a = _sum_out(a_term, a, b_term + later)
    b_term, b = _sum_out(b_term, b, a_term + later)
    batch = [c for c in a_term if c in b_term and c in later]
    summed = [c for c in a_term if c in b_term and c not in later]
    left = [c for c in a_term if c not in b_term]
    right = [c for c in b_term if c not in a_term]
    sizes = {**{c: a.shape[i] for i, c in enumerate(a_term)}, **{c: b.shape[i] for i, c in enumerate(b_term)}}
    if None in sizes.values():
        raise ValueError("Einsum needs static operand shapes")
    count = lambda letters: int(np.prod([sizes[c] for c in letters])) if letters else 1  # noqa: E731
    a3 = tf.reshape(
        tf.transpose(a, [a_term.index(c) for c in batch + left + summed]), [count(batch), count(left), count(summed)]
    )
    b3 = tf.reshape(
        tf.transpose(b, [b_term.index(c) for c in batch + summed + right]), [count(batch), count(summed), count(right)]
    )
    product = tf.matmul(a3, b3)
    term = "".join(batch + left + right)
    return term, tf.reshape(product, [sizes[c] for c in term])


@op("EyeLike")
def eye_like(node, x):
    shape = tf.shape(x[0])
    dtype = tf_dtype(node.attr("dtype")) if node.attr("dtype") else x[0].dtype
    k = node.attr("k", 0)
    i = tf.range(shape[0])[:, None]
    j = tf.range(shape[1])[None, :]
    return tf.cast(tf.equal(j - i, k), dtype)


@op("Dropout")
def dropout(node, x):
    outputs = [tf.identity(x[0])]
    if node.outputs > 1:
        outputs.append(tf.ones_like(x[0], dtype=tf.bool))
    return outputs


@op("TensorScatter")
def tensor_scatter(node, x):
    """The update written into the cache along `axis`, each batch row from its write index on (modulo the
    cache's length in circular mode): a one-hot matrix product, exact, with ops TFLite has."""
    cache, update = x[0], x[1]
    rank = cache.shape.rank
    axis = node.attr("axis", -2) % rank
    length, count, batch = cache.shape[axis], update.shape[axis], cache.shape[0]
    if None in (length, count, batch):
        raise ValueError("TensorScatter needs static cache and update shapes")
    start = tf.cast(x[2], tf.int64) if len(x) > 2 and x[2] is not None else tf.zeros([batch], tf.int64)
    positions = start[:, None] + tf.range(count, dtype=tf.int64)[None, :]  # [B, S]
    if node.attr("mode", "linear") == "circular":
        positions = tf.math.floormod(positions, length)
    writes = tf.one_hot(positions, length, dtype=cache.dtype)  # [B, S, L]
    moved_cache = tf.experimental.numpy.moveaxis(cache, axis, -1)  # [B, ..., L]
    moved_update = tf.experimental.numpy.moveaxis(update, axis, -1)  # [B, ..., S]
    middle = moved_cache.shape[1:-1]
    rows = int(np.prod(middle)) if middle else 1
    written = tf.matmul(tf.reshape(moved_update, [batch, rows, count]), writes)  # [B, R, L]
    kept = 1 - tf.reduce_max(writes, axis=1, keepdims=True)  # [B, 1, L]
    result = tf.reshape(moved_cache, [batch, rows, length]) * kept + written
    return tf.experimental.numpy.moveaxis(tf.reshape(result, moved_cache.shape), -1, axis)


@op("ReverseSequence")
def reverse_sequence(node, x):
    return tf.reverse_sequence(
        x[0], tf.cast(x[1], tf.int32), seq_axis=node.attr("time_axis", 0), batch_axis=node.attr("batch_axis", 1)
    )
