"""Quantized and integer ONNX ops (QuantizeLinear, DequantizeLinear, QLinearMatMul, QLinearConv,
MatMulInteger, ConvInteger): the integers less their zero points, multiplied in float32 (exact below
2^24), rescaled where the op says so, rounded half to even and saturated as ONNX's reference does."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from stages.tfops.ops import op
from stages.tfops.ops.nn import conv
from stages.tfops.ops.types import tf_dtype


def _per_axis(param, value, axis: int, block: int = 0):
    """A quantization parameter shaped to broadcast: per tensor (0-D or 1 element), per axis (1-D), or
    per block of `block` elements along the axis (blocked quantization: the parameter's axis repeated)."""
    rank = value.shape.rank
    axis %= rank
    if block:
        return tf.gather(param, np.arange(value.shape[axis]) // block, axis=axis)
    if param.shape.rank == 0 or param.shape.num_elements() == 1:
        return tf.reshape(param, [])
    shape = [1] * rank
    shape[axis] = -1
    return tf.reshape(param, shape)


def _linear(node, x, default_point):
    """(value, scale, zero point), the parameters shaped to the value."""
    value, scale = x[0], x[1]
    point = x[2] if len(x) > 2 and x[2] is not None else tf.zeros_like(scale, default_point)
    axis, block = node.attr("axis", 1), node.attr("block_size", 0)
    return value, tf.cast(_per_axis(scale, value, axis, block), tf.float32), _per_axis(point, value, axis, block)


@op("QuantizeLinear")
def quantize_linear(node, x):
    wanted = node.attr("output_dtype", 0)   # the zero point's type, or this, or uint8
    value, scale, point = _linear(node, x, tf_dtype(wanted) if wanted else tf.uint8)
    quantized = tf.round(tf.cast(value, tf.float32) / scale) + tf.cast(point, tf.float32)   # half to even
    info = point.dtype
    if info.is_integer:
        quantized = tf.clip_by_value(quantized, float(info.min), float(info.max))
    return tf.cast(quantized, info)


@op("DequantizeLinear")
def dequantize_linear(node, x):
    value, scale, point = _linear(node, x, x[0].dtype)
    shifted = tf.cast(value, tf.float32) - tf.cast(point, tf.float32)
    return tf.cast(shifted * scale, x[1].dtype)


def _rows(param, columns: bool = False):
    """A QLinearMatMul scale: per tensor, or per row of its operand (per column of b)."""
    if param.shape.rank == 0 or param.shape.num_elements() == 1:
        return tf.reshape(tf.cast(param, tf.float32), [])
    return tf.reshape(tf.cast(param, tf.float32), [1, -1] if columns else [-1, 1])


def _saturated(value, point):
    """Rounded half to even, shifted by the zero point, clipped to its type's range, in its type."""
    info = point.dtype
    result = tf.round(value) + tf.cast(tf.reshape(point, []) if point.shape.num_elements() == 1 else point, tf.float32)
    return tf.cast(tf.clip_by_value(result, float(info.min), float(info.max)), info)


@op("QLinearMatMul")
def qlinear_matmul(node, x):
    """a_scale * b_scale / y_scale times the integer product, a's zero point per row, b's per column."""
    a, a_scale, a_point, b, b_scale, b_point, y_scale, y_point = x
    product = tf.matmul(_shifted(a, a_point, axis=a.shape.rank - 2), _shifted(b, b_point, axis=b.shape.rank - 1))
    return _saturated(product * (_rows(a_scale) * _rows(b_scale, columns=True) / _rows(y_scale)), y_point)


def _shifted(value, point, axis: int | None = None):
    """An integer tensor minus its zero point, as float32 (exact below 2^24); a 1-D zero point per `axis`."""
    shifted = tf.cast(value, tf.float32)
    if point is None:
        return shifted
    point = tf.cast(point, tf.float32)
    if point.shape.rank and point.shape.num_elements() > 1:
        shape = [1] * value.shape.rank
        shape[axis] = -1
        point = tf.reshape(point, shape)
    else:
        point = tf.reshape(point, [])
    return shifted - point


def _optional(x, index):
    return x[index] if len(x) > index else None


@op("ConvInteger")
def conv_integer(node, x):
    """The convolution of the zero-point-shifted integers, in float32 (exact below 2^24), as int32."""
    product = conv(node, [_shifted(x[0], _optional(x, 2)), _shifted(x[1], _optional(x, 3), axis=0)])
    return tf.cast(tf.round(product), tf.int32)


@op("QLinearConv")
def qlinear_conv(node, x):
    """ConvInteger plus the int32 bias, rescaled by x_scale * w_scale / y_scale (w_scale per output channel),
    rounded half to even, shifted by y's zero point and saturated."""
    data, x_scale, x_point, w, w_scale, w_point, y_scale, y_point = x[:8]
    bias = _optional(x, 8)
    product = conv(node, [_shifted(data, x_point), _shifted(w, w_point, axis=0)])
    if bias is not None:
        product = product + tf.reshape(tf.cast(bias, tf.float32), [-1, *[1] * (product.shape.rank - 2)])
    w_scale = tf.cast(w_scale, tf.float32)
    if w_scale.shape.rank and w_scale.shape.num_elements() > 1:
        w_scale = tf.reshape(w_scale, [-1, *[1] * (product.shape.rank - 2)])
    return _saturated(product * (tf.cast(x_scale, tf.float32) * w_scale / tf.cast(y_scale, tf.float32)), y_point)


@op("MatMulInteger")
def matmul_integer(node, x):
    """The product of the zero-point-shifted integers (a's zero point per row, b's per column) as int32."""
    a, b = x[0], x[1]
    return tf.cast(tf.round(tf.matmul(_shifted(a, _optional(x, 2), axis=a.shape.rank - 2),
                                      _shifted(b, _optional(x, 3), axis=b.shape.rank - 1))), tf.int32)
