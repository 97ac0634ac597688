"""Convolutions, pooling, normalizations, dense layers and resizing, channels-first as ONNX has them.

TF's CPU kernels are channels-last: each op moves channels last, runs, and moves them back, so the
graph keeps ONNX's layout everywhere (TFLite's converter removes what cancels out)."""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from stages.tfops.graph import Unsupported, static
from stages.tfops.ops import op


def _last(x):
    """NC... -> N...C"""
    rank = x.shape.rank
    return tf.transpose(x, [0, *range(2, rank), 1])


def _first(x):
    """N...C -> NC..."""
    rank = x.shape.rank
    return tf.transpose(x, [0, rank - 1, *range(1, rank - 1)])


def _spatial(node, x, kernel: list[int]) -> tuple[list[int], list[int], list[int]]:
    """(strides, dilations, [begin..., end...] pads) for the spatial axes, auto_pad resolved."""
    count = len(kernel)
    strides = list(node.attr("strides", [1] * count))
    dilations = list(node.attr("dilations", [1] * count))
    pads = list(node.attr("pads", [0] * 2 * count))
    auto = node.attr("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        sizes = x.shape[2:]
        if any(s is None for s in sizes):
            raise Unsupported(f"{node.op} {node.name}: auto_pad {auto} needs static spatial sizes")
        pads = [0] * 2 * count
        for i, (size, k, s, d) in enumerate(zip(sizes, kernel, strides, dilations)):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            pads[i], pads[i + count] = (small, large) if auto == "SAME_UPPER" else (large, small)
    elif auto == "VALID":
        pads = [0] * 2 * count
    return strides, dilations, pads


def _pad_spatial(x, pads: list[int], value=0.0):
    count = len(pads) // 2
    if not any(pads):
        return x
    paddings = [[0, 0], [0, 0], *[[pads[i], pads[i + count]] for i in range(count)]]
    return tf.pad(x, paddings, constant_values=value)


def _conv_last(x, w, strides, dilations):
    """Channels-last convolution of rank 1-3; `w` is ONNX's [M, C/g, *k]."""
    rank = len(strides)
    kernel = tf.transpose(w, [*range(2, rank + 2), 1, 0])   # [*k, C/g, M]
    if rank == 1:   # 1-D as 2-D (TFLite has no 1-D convolution)
        y = tf.nn.conv2d(tf.expand_dims(x, 1), tf.expand_dims(kernel, 0), [1, 1, strides[0], 1], "VALID",
                         dilations=[1, 1, dilations[0], 1])
        return tf.squeeze(y, 1)
    return tf.nn.convolution(x, kernel, strides=strides, padding="VALID", dilations=dilations)


@op("Conv")
def conv(node, x):
    data, w = x[0], x[1]
    bias = x[2] if len(x) > 2 else None
    kernel = list(node.attr("kernel_shape") or w.shape[2:])
    strides, dilations, pads = _spatial(node, data, kernel)
    group = node.attr("group", 1)
    last = _last(_pad_spatial(data, pads))
    channels = w.shape[0]
    if group == 1:
        y = _conv_last(last, w, strides, dilations)
    elif w.shape[1] == 1 and len(kernel) == 2 and channels % group == 0 and group == last.shape[-1]:
        # depthwise: [M, 1, kh, kw] -> [kh, kw, C, M/C]
        depthwise = tf.reshape(tf.transpose(w, [2, 3, 1, 0]), [kernel[0], kernel[1], group, channels // group])
        y = tf.nn.depthwise_conv2d(last, depthwise, [1, *strides, 1], "VALID", dilations=dilations)
    else:
        inputs = tf.split(last, group, axis=-1)
        weights = tf.split(w, group, axis=0)
        y = tf.concat([_conv_last(i, k, strides, dilations) for i, k in zip(inputs, weights)], axis=-1)
    if bias is not None:
        y = y + bias
    return _first(y)


@op("ConvTranspose")
def conv_transpose(node, x):
    data, w = x[0], x[1]
    bias = x[2] if len(x) > 2 else None
    if node.attr("group", 1) != 1:
        raise Unsupported(f"ConvTranspose {node.name} with group > 1")
    kernel = list(node.attr("kernel_shape") or w.shape[2:])
    count = len(kernel)
    if count != 2:
        raise Unsupported(f"ConvTranspose {node.name}: {count}-D")
    strides = list(node.attr("strides", [1] * count))
    dilations = list(node.attr("dilations", [1] * count))
    pads = list(node.attr("pads", [0] * 2 * count))
    extra = list(node.attr("output_padding", [0] * count))
    sizes = data.shape[2:]
    if node.attr("output_shape") is not None or node.attr("auto_pad", "NOTSET") != "NOTSET":
        raise Unsupported(f"ConvTranspose {node.name} with output_shape or auto_pad")
    # the full output, then cropped by the pads (and grown by output_padding)
    full = [(s - 1) * st + (k - 1) * d + 1 + e for s, st, k, d, e in zip(sizes, strides, kernel, dilations, extra)]
    n = tf.shape(data)[0]
    filters = tf.transpose(w, [2, 3, 1, 0])   # [kh, kw, out, in]
    y = tf.nn.conv2d_transpose(_last(data), filters, tf.stack([n, full[0], full[1], w.shape[1]]),
                               [1, *strides, 1], "VALID", dilations=[1, *dilations, 1])
    y = y[:, pads[0]:full[0] - pads[2], pads[1]:full[1] - pads[3], :]
    if bias is not None:
        y = y + bias
    return _first(y)


def _ceil_extra(node, x, kernel, strides, dilations, pads) -> list[int]:
    """Extra end padding so that the output size rounds up (ceil_mode), windows starting inside only."""
    if not node.attr("ceil_mode", 0):
        return [0] * len(kernel)
    extra = []
    for i, (size, k, s, d) in enumerate(zip(x.shape[2:], kernel, strides, dilations)):
        padded = size + pads[i] + pads[i + len(kernel)]
        span = (k - 1) * d + 1
        out = math.ceil((padded - span) / s) + 1
        if (out - 1) * s >= size + pads[i]:   # a last window that starts in the end padding is dropped
            out -= 1
        extra.append(max((out - 1) * s + span - padded, 0))
    return extra


def _pool_last(x, kind: str, kernel, strides, dilations):
    rank = len(kernel)
    if rank == 1:
        y = tf.nn.pool(tf.expand_dims(x, 1), [1, kernel[0]], kind, strides=[1, strides[0]], padding="VALID",
                       dilations=[1, dilations[0]])
        return tf.squeeze(y, 1)
    return tf.nn.pool(x, kernel, kind, strides=strides, padding="VALID", dilations=dilations)


@op("MaxPool")
def max_pool(node, x):
    if node.outputs > 1:
        raise Unsupported(f"MaxPool {node.name}: the Indices output")
    kernel = list(node.attr("kernel_shape"))
    strides, dilations, pads = _spatial(node, x[0], kernel)
    if any(d > 1 for d in dilations) and any(s > 1 for s in strides):
        raise Unsupported(f"MaxPool {node.name}: dilations with strides")
    extra = _ceil_extra(node, x[0], kernel, strides, dilations, pads)
    count = len(kernel)
    pads = pads[:count] + [p + e for p, e in zip(pads[count:], extra)]
    low = x[0].dtype.min if x[0].dtype.is_integer else -np.inf
    return _first(_pool_last(_last(_pad_spatial(x[0], pads, low)), "MAX", kernel, strides, dilations))


@op("AveragePool")
def average_pool(node, x):
    kernel = list(node.attr("kernel_shape"))
    strides, dilations, pads = _spatial(node, x[0], kernel)
    count = len(kernel)
    extra = _ceil_extra(node, x[0], kernel, strides, dilations, pads)
    full = pads[:count] + [p + e for p, e in zip(pads[count:], extra)]
    data = _last(_pad_spatial(x[0], full))
    total = _pool_last(data, "AVG", kernel, strides, dilations)
    if not any(full) or (node.attr("count_include_pad", 0) and not any(extra)):
        return _first(total)
    # average over the cells each window covers: the input, and the pads where they count
    ones = tf.ones_like(x[0][:1, :1])
    counted = _pad_spatial(ones, pads, 1.0) if node.attr("count_include_pad", 0) else ones
    counted = _pad_spatial(counted, [0] * count + extra) if node.attr("count_include_pad", 0) \
        else _pad_spatial(counted, full)
    share = _pool_last(_last(counted), "AVG", kernel, strides, dilations)
    return _first(total / share)


@op("GlobalAveragePool")
def global_average_pool(node, x):
    return tf.reduce_mean(x[0], axis=list(range(2, x[0].shape.rank)), keepdims=True)


@op("GlobalMaxPool")
def global_max_pool(node, x):
    return tf.reduce_max(x[0], axis=list(range(2, x[0].shape.rank)), keepdims=True)


def _per_channel(value, rank):
    return tf.reshape(value, [-1, *[1] * (rank - 2)])


@op("BatchNormalization")
def batch_normalization(node, x):
    data, scale, bias, mean, var = x[:5]
    rank = data.shape.rank
    eps = node.attr("epsilon", 1e-5)
    factor = scale / tf.sqrt(var + eps)
    return data * _per_channel(factor, rank) + _per_channel(bias - mean * factor, rank)


@op("InstanceNormalization")
def instance_normalization(node, x):
    data, scale, bias = x
    rank = data.shape.rank
    mean, var = tf.nn.moments(data, axes=list(range(2, rank)), keepdims=True)
    return (data - mean) / tf.sqrt(var + node.attr("epsilon", 1e-5)) * _per_channel(scale, rank) \
        + _per_channel(bias, rank)


@op("LayerNormalization")
def layer_normalization(node, x):
    data, scale = x[0], x[1]
    bias = x[2] if len(x) > 2 else None
    axis = node.attr("axis", -1) % data.shape.rank
    axes = list(range(axis, data.shape.rank))
    mean, var = tf.nn.moments(data, axes=axes, keepdims=True)
    inv = tf.math.rsqrt(var + node.attr("epsilon", 1e-5))
    y = (data - mean) * inv * scale
    if bias is not None:
        y = y + bias
    return [y, mean, inv][:node.outputs]


@op("LpNormalization")
def lp_normalization(node, x):
    axis, p = node.attr("axis", -1), node.attr("p", 2)
    norm = tf.reduce_sum(tf.abs(x[0]), axis, keepdims=True) if p == 1 \
        else tf.sqrt(tf.reduce_sum(x[0] * x[0], axis, keepdims=True))
    return x[0] / norm


@op("MeanVarianceNormalization")
def mean_variance_normalization(node, x):
    axes = list(node.attr("axes", [0, 2, 3]))
    mean, var = tf.nn.moments(x[0], axes=axes, keepdims=True)
    return (x[0] - mean) / (tf.sqrt(var) + 1e-9)


@op("LRN")
def lrn(node, x):
    size = node.attr("size")
    alpha, beta, bias = node.attr("alpha", 1e-4), node.attr("beta", 0.75), node.attr("bias", 1.0)
    squared = _last(x[0] * x[0])
    # the sum over `size` channels around each one (floor((size-1)/2) before, ceil after)
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    padded = tf.pad(squared, [[0, 0], [0, 0], [0, 0], [before, after]])
    summed = tf.add_n([padded[..., i:i + squared.shape[-1]] for i in range(size)])
    return x[0] / tf.pow(bias + alpha / size * _first(summed), beta)


@op("Gemm")
def gemm(node, x):
    a, b = x[0], x[1]
    c = x[2] if len(x) > 2 else None
    y = tf.matmul(a, b, transpose_a=bool(node.attr("transA", 0)), transpose_b=bool(node.attr("transB", 0)))
    y = node.attr("alpha", 1.0) * y if node.attr("alpha", 1.0) != 1.0 else y
    if c is not None:
        c = node.attr("beta", 1.0) * c if node.attr("beta", 1.0) != 1.0 else c
        if c.shape.rank == 2 and c.shape[0] == 1:   # oneDNN's MatMul+Add fusion takes a 1-D bias only
            c = tf.reshape(c, [-1])
        y = y + c
    return y


@op("MatMul")
def matmul(node, x):
    a, b = x
    if a.shape.rank == 1 and b.shape.rank == 1:
        return tf.reduce_sum(a * b)
    if a.shape.rank == 1:
        return tf.squeeze(tf.matmul(tf.expand_dims(a, 0), b), -2)
    if b.shape.rank == 1:
        return tf.squeeze(tf.matmul(a, tf.expand_dims(b, -1)), -1)
    return tf.matmul(a, b)


def _resize_sizes(node, x) -> list[int]:
    """The output's spatial sizes, from `sizes` or `scales` (N and C must not change)."""
    data = x[0]
    shape = data.shape.as_list()
    if None in shape:
        raise Unsupported(f"{node.op} {node.name}: resizing needs static input sizes")
    if node.op == "Upsample":
        scales = node.attr("scales") if node.version < 9 else static(x[1]).tolist()
        sizes = None
    else:
        sizes = static(x[3]) if len(x) > 3 and x[3] is not None else None
        scales = static(x[2]) if len(x) > 2 and x[2] is not None else None
        sizes = sizes.tolist() if sizes is not None and sizes.size else None
        scales = scales.tolist() if scales is not None and scales.size else None
        axes = node.attr("axes")
        if axes is not None:
            full_sizes = list(shape) if sizes else None
            full_scales = [1.0] * len(shape) if scales else None
            for i, axis in enumerate(axes):
                if sizes:
                    full_sizes[axis] = sizes[i]
                if scales:
                    full_scales[axis] = scales[i]
            sizes, scales = full_sizes, full_scales
    if sizes is None:
        sizes = [int(math.floor(s * f)) for s, f in zip(shape, scales)]
    if sizes[:2] != shape[:2]:
        raise Unsupported(f"{node.op} {node.name}: resizing the batch or channel axis")
    return sizes[2:]


@op("Resize", "Upsample")
def resize(node, x):
    mode = node.attr("mode", "nearest")
    if node.attr("antialias", 0):
        raise Unsupported(f"{node.op} {node.name}: antialias")
    sizes = _resize_sizes(node, x)
    if len(sizes) != 2:
        raise Unsupported(f"{node.op} {node.name}: {len(sizes)}-D resizing")
    coordinates = node.attr("coordinate_transformation_mode", "asymmetric" if node.op == "Upsample"
                            or node.version < 11 else "half_pixel")
    data = _last(x[0])
    if coordinates == "pytorch_half_pixel" and all(s > 1 for s in sizes):
        coordinates = "half_pixel"
    if mode == "linear" and coordinates in ("half_pixel", "align_corners", "asymmetric"):
        y = tf.compat.v1.image.resize_bilinear(data, sizes, align_corners=coordinates == "align_corners",
                                               half_pixel_centers=coordinates == "half_pixel")
    elif mode == "nearest" and coordinates in ("asymmetric", "align_corners") and \
            node.attr("nearest_mode", "round_prefer_floor") in ("floor", "round_prefer_ceil") and \
            (coordinates == "asymmetric") == (node.attr("nearest_mode", "round_prefer_floor") == "floor"):
        y = tf.compat.v1.image.resize_nearest_neighbor(data, sizes, align_corners=coordinates == "align_corners")
    elif mode == "nearest" and coordinates in ("half_pixel", "tf_half_pixel_for_nn"):
        y = tf.compat.v1.image.resize_nearest_neighbor(data, sizes, half_pixel_centers=True)
    elif mode == "nearest" and node.op == "Upsample":
        y = tf.compat.v1.image.resize_nearest_neighbor(data, sizes)
    else:
        raise Unsupported(f"{node.op} {node.name}: mode {mode} with {coordinates} coordinates "
                          f"({node.attr('nearest_mode', 'round_prefer_floor')})")
    return _first(tf.cast(y, x[0].dtype))
