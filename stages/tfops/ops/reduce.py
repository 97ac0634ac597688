"""Reductions, arg-reductions, softmax-like normalizations, cumulative sums, TopK."""

from __future__ import annotations

import tensorflow as tf

from stages.tfops.table import op
from stages.tfops.values import static


def _axes(node, x):
    """The reduction axes: the `axes` input (opset 13/18 on) or attribute; None: all."""
    if len(x) > 1 and x[1] is not None:
        value = static(x[1])
        axes = value.tolist() if value is not None else x[1]
        return axes if not isinstance(axes, list) or axes else None
    axes = node.attr("axes")
    return list(axes) if axes else None


def _reduce(fn):
    def handler(node, x):
        axes = _axes(node, x)
        if axes is None and node.attr("noop_with_empty_axes", 0):
            return tf.identity(x[0])
        if x[0].dtype == tf.bool:  # ReduceMax/Min of booleans: any/all, through integers
            return tf.cast(fn(tf.cast(x[0], tf.int32), axes, bool(node.attr("keepdims", 1))), tf.bool)
        return fn(x[0], axes, bool(node.attr("keepdims", 1)))

    return handler


REDUCTIONS = {
    "ReduceSum": lambda v, a, k: tf.reduce_sum(v, a, k),
    "ReduceMean": lambda v, a, k: tf.reduce_mean(v, a, k),
    "ReduceMax": lambda v, a, k: tf.reduce_max(v, a, k),
    "ReduceMin": lambda v, a, k: tf.reduce_min(v, a, k),
    "ReduceProd": lambda v, a, k: tf.reduce_prod(v, a, k),
    "ReduceL1": lambda v, a, k: tf.reduce_sum(tf.abs(v), a, k),
    "ReduceL2": lambda v, a, k: tf.sqrt(tf.reduce_sum(v * v, a, k)),
    "ReduceSumSquare": lambda v, a, k: tf.reduce_sum(v * v, a, k),
    "ReduceLogSum": lambda v, a, k: tf.math.log(tf.reduce_sum(v, a, k)),
    "ReduceLogSumExp": lambda v, a, k: tf.math.log(tf.reduce_sum(tf.exp(v), a, k)),
}
for _name, _fn in REDUCTIONS.items():
    op(_name)(_reduce(_fn))


def _arg(fn):
    def handler(node, x):
        axis, keep = node.attr("axis", 0), node.attr("keepdims", 1)
        value = x[0]
        if node.attr("select_last_index", 0):  # the last of equal extremes: search the reversed axis
            reversed_ = tf.reverse(value, [axis])
            index = tf.cast(tf.shape(value)[axis], tf.int64) - 1 - fn(reversed_, axis=axis, output_type=tf.int64)
        else:
            index = fn(value, axis=axis, output_type=tf.int64)
        return tf.expand_dims(index, axis) if keep else index

    return handler


op("ArgMax")(_arg(tf.argmax))
op("ArgMin")(_arg(tf.argmin))


def _flattened_from(node, x, fn):
    """Opset < 13: normalize over everything from `axis` on (the input seen as 2-D)."""
    value, axis = x[0], node.attr("axis", 1)
    shape = tf.shape(value)
    rank = value.shape.rank
    axis = axis + rank if axis < 0 else axis
    flat = tf.reshape(value, tf.stack([tf.reduce_prod(shape[:axis]), tf.reduce_prod(shape[axis:])]))
    return tf.reshape(fn(flat, -1), shape)


def _normalize(fn):
    def handler(node, x):
        if node.version < 13:
            return _flattened_from(node, x, fn)
        return fn(x[0], node.attr("axis", -1))

    return handler


def _hardmax(value, axis):
    depth = tf.shape(value)[axis]
    rank = value.shape.rank
    return tf.one_hot(tf.argmax(value, axis=axis), depth, axis=axis % rank, dtype=value.dtype)


op("Softmax")(_normalize(lambda v, axis: tf.nn.softmax(v, axis=axis)))
op("LogSoftmax")(_normalize(lambda v, axis: tf.nn.log_softmax(v, axis=axis)))
op("Hardmax")(_normalize(_hardmax))


@op("CumSum")
def cumsum(node, x):
    """reverse as reverse, sum, reverse: TFLite's CUMSUM has no reverse."""
    axis = static(x[1])
    axis = int(axis) if axis is not None else x[1]
    value = tf.reverse(x[0], [axis]) if node.attr("reverse", 0) else x[0]
    summed = tf.cumsum(value, axis=axis, exclusive=bool(node.attr("exclusive", 0)))
    return tf.reverse(summed, [axis]) if node.attr("reverse", 0) else summed


@op("TopK")
def top_k(node, x):
    value, k = x[0], tf.reshape(tf.cast(x[1], tf.int32), [])
    axis = node.attr("axis", -1)
    rank = value.shape.rank
    axis = axis % rank
    largest = node.attr("largest", 1)
    moved = value if axis == rank - 1 else tf.experimental.numpy.moveaxis(value, axis, -1)
    values, indices = tf.math.top_k(moved if largest else -moved, k=k, sorted=True)
    values = values if largest else -values
    if axis != rank - 1:
        values = tf.experimental.numpy.moveaxis(values, -1, axis)
        indices = tf.experimental.numpy.moveaxis(indices, -1, axis)
    return [values, tf.cast(indices, tf.int64)]
