"""Quantized and integer ONNX ops (QuantizeLinear, DequantizeLinear, QLinearMatMul, QLinearConv,
MatMulInteger, ConvInteger): the integers less their zero points, multiplied in float32 (exact below
2^24), rescaled where the op says so, rounded half to even and saturated as ONNX's reference does."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from stages.tfops.ops.nn import conv
from stages.tfops.ops.types import tf_dtype
from stages.tfops.table import op


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


def _scaled(param, value, axis: int, block: int = 0):
    """A quantization parameter as float32, shaped to broadcast against `value` (see _per_axis)."""
    return tf.cast(_per_axis(param, value, axis, block), tf.float32)


def _linear(node, x, default_point):
    """(value, scale, zero point), the parameters shaped to the value."""
    value, scale = x[0], x[1]
    point = x[2] if len(x) > 2 and x[2] is not None else tf.zeros_like(scale, default_point)
    axis, block = node.attr("axis", 1), node.attr("block_size", 0)
    return value, _scaled(scale, value, axis, block), _per_axis(point, value, axis, block)


def _saturated(value, point):
    """Rounded half to even, shifted by the zero point (shaped to `value`), clipped to the range of its
    integer type, in its type."""
    info = point.dtype
    result = tf.round(value) + tf.cast(point, tf.float32)
    if info.is_integer:
        result = tf.clip_by_value(result, float(info.min), float(info.max))
    return tf.cast(result, info)


@op("QuantizeLinear")
def quantize_linear(node, x):
    wanted = node.attr("output_dtype", 0)  # the zero point's type, or this, or uint8
    value, scale, point = _linear(node, x, tf_dtype(wanted) if wanted else tf.uint8)
    return _saturated(tf.cast(value, tf.float32) / scale, point)


@op("DequantizeLinear")
def dequantize_linear(node, x):
    value, scale, point = _linear(node, x, x[0].dtype)
    shifted = tf.cast(value, tf.float32) - tf.cast(point, tf.float32)
    return tf.cast(shifted * scale, x[1].dtype)


def _shifted(value, point, axis: int = 1):
    """An integer tensor minus its zero point (per tensor, or 1-D along `axis`), as float32 (exact below
    2^24)."""
    shifted = tf.cast(value, tf.float32)
    return shifted if point is None else shifted - _scaled(point, value, axis)


@op("QLinearMatMul")
def qlinear_matmul(node, x):
    """a_scale * b_scale / y_scale times the integer product; a's and y's parameters per row, b's per column."""
    a, a_scale, a_point, b, b_scale, b_point, y_scale, y_point = x
    a_rows, b_columns = a.shape.rank - 2, b.shape.rank - 1
    product = tf.matmul(_shifted(a, a_point, a_rows), _shifted(b, b_point, b_columns))
    rows = product.shape.rank - 2
    scale = _scaled(a_scale, a, a_rows) * _scaled(b_scale, b, b_columns) / _scaled(y_scale, product, rows)
    return _saturated(product * scale, _per_axis(y_point, product, rows))


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
        product = product + _scaled(bias, product, 1)
    scale = _scaled(x_scale, product, 1) * _scaled(w_scale, product, 1) / _scaled(y_scale, product, 1)
    return _saturated(product * scale, _per_axis(y_point, product, 1))


@op("MatMulInteger")
def matmul_integer(node, x):
    """The product of the zero-point-shifted integers (a's zero point per row, b's per column) as int32."""
    a, b = x[0], x[1]
    return tf.cast(
        tf.round(
            tf.matmul(_shifted(a, _optional(x, 2), a.shape.rank - 2), _shifted(b, _optional(x, 3), b.shape.rank - 1))
        ),
        tf.int32,
    )
