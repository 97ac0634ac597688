"""Convolutions, pooling, normalizations, dense layers and resizing, channels-first as ONNX has them.

TF's CPU kernels are channels-last: each op moves channels last, runs, and moves them back, so the
graph keeps ONNX's layout everywhere (TFLite's converter removes what cancels out)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from stages.tfops.table import op
from stages.tfops.values import Unsupported, static


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
        for i, (size, k, s, d) in enumerate(zip(sizes, kernel, strides, dilations, strict=True)):
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
    kernel = tf.transpose(w, [*range(2, rank + 2), 1, 0])  # [*k, C/g, M]
    if rank == 1:  # 1-D as 2-D (TFLite has no 1-D convolution)
        y = tf.nn.conv2d(
            tf.expand_dims(x, 1),
            tf.expand_dims(kernel, 0),
            [1, 1, strides[0], 1],
            "VALID",
            dilations=[1, 1, dilations[0], 1],
        )
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
        y = tf.concat([_conv_last(i, k, strides, dilations) for i, k in zip(inputs, weights, strict=True)], axis=-1)
    if bias is not None:
        y = y + bias
    return _first(y)


@op("ConvTranspose")
def conv_transpose(node, x):
    data, w = x[0], x[1]
    bias = x[2] if len(x) > 2 else None
    group = node.attr("group", 1)
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
    full = [
        (s - 1) * st + (k - 1) * d + 1 + e
        for s, st, k, d, e in zip(sizes, strides, kernel, dilations, extra, strict=True)
    ]
    n = tf.shape(data)[0]
    outputs = []  # one transposed convolution per group: input channels C/g -> output channels M/g
    for part, weights in zip(tf.split(_last(data), group, axis=-1), tf.split(w, group, axis=0), strict=True):
        filters = _dilated(tf.transpose(weights, [2, 3, 1, 0]), dilations)  # [kh, kw, out, in]
        outputs.append(
            tf.nn.conv2d_transpose(
                part, filters, tf.stack([n, full[0], full[1], weights.shape[1]]), [1, *strides, 1], "VALID"
            )
        )
    y = outputs[0] if group == 1 else tf.concat(outputs, axis=-1)
    y = y[:, pads[0] : full[0] - pads[2], pads[1] : full[1] - pads[3], :]
    if bias is not None:
        y = y + bias
    return _first(y)


def _dilated(kernel, dilations: list[int]):
    """A [kh, kw, …] kernel with d - 1 zeros between its taps on each axis: the same transposed convolution
    without dilations, which TF's CPU kernel for it lacks."""
    for axis, d in enumerate(dilations):
        if d == 1:
            continue
        rank, taps = kernel.shape.rank, kernel.shape[axis]
        spaced = tf.pad(
            tf.expand_dims(kernel, axis + 1), [[0, d - 1] if i == axis + 1 else [0, 0] for i in range(rank + 1)]
        )
        shape = [taps * d if i == axis else size for i, size in enumerate(kernel.shape)]
        kernel = tf.reshape(spaced, shape)[(slice(None),) * axis + (slice(0, (taps - 1) * d + 1),)]
    return kernel


def _ceil_extra(node, x, kernel, strides, dilations, pads) -> list[int]:
    """Extra end padding so that the output size rounds up (ceil_mode), windows starting inside only."""
    if not node.attr("ceil_mode", 0):
        return [0] * len(kernel)
    extra = []
    for i, (size, k, s, d) in enumerate(zip(x.shape[2:], kernel, strides, dilations, strict=True)):
        padded = size + pads[i] + pads[i + len(kernel)]
        span = (k - 1) * d + 1
        out = math.ceil((padded - span) / s) + 1
        if (out - 1) * s >= size + pads[i]:  # a last window that starts in the end padding is dropped
            out -= 1
        extra.append(max((out - 1) * s + span - padded, 0))
    return extra


def _pool_windows(x, kind: str, kernel, strides, dilations):
    """Pooling over dilated windows as strided slices, one per kernel offset, reduced pairwise: what TF's
    pool does by space-to-batch, which TFLite lacks past 2-D and with strides."""
    import itertools

    sizes = x.shape[1:-1]
    outs = [
        (size - ((k - 1) * d + 1)) // s + 1 for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True)
    ]
    result = None
    for offsets in itertools.product(*[range(k) for k in kernel]):
        index = (
            slice(None),
            *[
                slice(o * d, o * d + (n - 1) * s + 1, s)
                for o, d, n, s in zip(offsets, dilations, outs, strides, strict=True)
            ],
            slice(None),
        )
        window = x[index]
        result = window if result is None else (tf.maximum(result, window) if kind == "MAX" else result + window)
    return result if kind == "MAX" else result / float(np.prod(kernel))


def _pool_last(x, kind: str, kernel, strides, dilations):
    rank = len(kernel)
    if rank == 3 or any(d > 1 for d in dilations) or any(s > k for s, k in zip(strides, kernel, strict=True)):
        return _pool_windows(x, kind, kernel, strides, dilations)  # TFLite has no 3-D pooling
    if rank == 1:
        y = tf.nn.pool(
            tf.expand_dims(x, 1),
            [1, kernel[0]],
            kind,
            strides=[1, strides[0]],
            padding="VALID",
            dilations=[1, dilations[0]],
        )
        return tf.squeeze(y, 1)
    return tf.nn.pool(x, kernel, kind, strides=strides, padding="VALID", dilations=dilations)


def _pool_pads(node, x, kernel: list[int]):
    """(strides, dilations, pads, ceil_mode's extra end padding, pads with that extra) of a pooling node."""
    strides, dilations, pads = _spatial(node, x, kernel)
    extra = _ceil_extra(node, x, kernel, strides, dilations, pads)
    count = len(kernel)
    return strides, dilations, pads, extra, pads[:count] + [p + e for p, e in zip(pads[count:], extra, strict=True)]


@op("MaxPool")
def max_pool(node, x):
    if node.outputs > 1:
        raise Unsupported(f"MaxPool {node.name}: the Indices output")
    kernel = list(node.attr("kernel_shape"))
    strides, dilations, _, _, full = _pool_pads(node, x[0], kernel)
    low = x[0].dtype.min if x[0].dtype.is_integer else -np.inf
    return _first(_pool_last(_last(_pad_spatial(x[0], full, low)), "MAX", kernel, strides, dilations))


@op("AveragePool")
def average_pool(node, x):
    kernel = list(node.attr("kernel_shape"))
    count = len(kernel)
    strides, dilations, pads, extra, full = _pool_pads(node, x[0], kernel)
    data = _last(_pad_spatial(x[0], full))
    total = _pool_last(data, "AVG", kernel, strides, dilations)
    if not any(full) or (node.attr("count_include_pad", 0) and not any(extra)):
        return _first(total)
    # average over the cells each window covers: the input, and the pads where they count
    ones = tf.ones_like(x[0][:1, :1])
    counted = _pad_spatial(ones, pads, 1.0) if node.attr("count_include_pad", 0) else ones
    counted = (
        _pad_spatial(counted, [0] * count + extra) if node.attr("count_include_pad", 0) else _pad_spatial(counted, full)
    )
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
    if node.attr("training_mode", 0):
        return _batch_statistics(data, scale, bias, mean, var, eps, node.attr("momentum", 0.9))
    factor = scale / tf.sqrt(var + eps)
    return data * _per_channel(factor, rank) + _per_channel(bias - mean * factor, rank)


def _batch_statistics(data, scale, bias, mean, var, eps, momentum):
    """training_mode=1: normalized by this batch's mean and (population) variance over every axis but
    the channels; the running mean and variance moved towards them by 1 - momentum (ONNX's spec)."""
    rank = data.shape.rank
    axes = [0, *range(2, rank)]
    batch_mean = tf.reduce_mean(data, axes)
    batch_var = tf.reduce_mean(tf.square(data - _per_channel(batch_mean, rank)), axes)
    factor = scale / tf.sqrt(batch_var + eps)
    y = (data - _per_channel(batch_mean, rank)) * _per_channel(factor, rank) + _per_channel(bias, rank)
    return [y, mean * momentum + batch_mean * (1 - momentum), var * momentum + batch_var * (1 - momentum)]


@op("InstanceNormalization")
def instance_normalization(node, x):
    data, scale, bias = x
    rank = data.shape.rank
    mean, var = tf.nn.moments(data, axes=list(range(2, rank)), keepdims=True)
    return (data - mean) / tf.sqrt(var + node.attr("epsilon", 1e-5)) * _per_channel(scale, rank) + _per_channel(
        bias, rank
    )


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
    return [y, mean, inv][: node.outputs]


@op("LpNormalization")
def lp_normalization(node, x):
    axis, p = node.attr("axis", -1), node.attr("p", 2)
    norm = (
        tf.reduce_sum(tf.abs(x[0]), axis, keepdims=True)
        if p == 1
        else tf.sqrt(tf.reduce_sum(x[0] * x[0], axis, keepdims=True))
    )
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
    summed = tf.add_n([padded[..., i : i + squared.shape[-1]] for i in range(size)])
    return x[0] / tf.pow(bias + alpha / size * _first(summed), beta)


@op("Gemm")
def gemm(node, x):
    a, b = x[0], x[1]
    c = x[2] if len(x) > 2 else None
    y = tf.matmul(a, b, transpose_a=bool(node.attr("transA", 0)), transpose_b=bool(node.attr("transB", 0)))
    y = node.attr("alpha", 1.0) * y if node.attr("alpha", 1.0) != 1.0 else y
    if c is not None:
        c = node.attr("beta", 1.0) * c if node.attr("beta", 1.0) != 1.0 else c
        if c.shape.rank == 2 and c.shape[0] == 1:  # oneDNN's MatMul+Add fusion takes a 1-D bias only
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


def _resize_inputs(node, x) -> tuple[list[float] | None, list[int] | None, list[float] | None]:
    """(roi, scales, sizes) as the graph gives them, known when the graph is built (None: not given)."""

    def known(i):
        if len(x) <= i or x[i] is None:
            return None
        value = static(x[i])
        if value is None:
            raise Unsupported(
                f"{node.op} {node.name}: its {('roi', 'scales', 'sizes')[i - 1]} are known only at run time"
            )
        return value.tolist() if value.size else None

    if node.op == "Upsample":
        return None, node.attr("scales") if node.version < 9 else known(1), None
    return known(1), known(2), known(3)


def _axis_matrix(node, size_in: int, axis: int, rank: int, roi, scales, sizes) -> np.ndarray:
    """How the op maps one axis of `size_in` elements: the [out, in] matrix ONNX's reference implementation
    makes of an identity (interpolation is separable along axes, antialiasing included)."""
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    shape = [size_in] + [1] * (rank - 1)
    shape[axis] = size_in
    eye = np.zeros(shape, np.float32)
    for j in range(size_in):
        index = [j] + [0] * (rank - 1)
        index[axis] = j
        eye[tuple(index)] = 1.0
    attrs = {k: v for k, v in node.attrs.items() if k != "axes"}
    if node.op == "Upsample":
        attrs = {
            "mode": attrs.get("mode", "nearest"),
            "coordinate_transformation_mode": "asymmetric",
            "nearest_mode": "floor",
        }
    inputs, initializers = ["x"], []

    def constant(name, values, dtype):
        initializers.append(numpy_helper.from_array(np.asarray(values, dtype), name))
        inputs.append(name)

    if roi:  # this axis's part of the region of interest; the whole of every other axis
        box = [0.0] * rank + [1.0] * rank
        box[axis], box[axis + rank] = roi[axis], roi[axis + rank]
        roi = box
    if roi:
        constant("roi", roi, np.float32)
    else:
        inputs.append("")
    if sizes is not None:
        full = [size_in] + [1] * (rank - 1)
        full[axis] = sizes[axis]
        inputs.append("")
        constant("sizes", full, np.int64)
    else:
        full = [1.0] * rank
        full[axis] = scales[axis]
        constant("scales", full, np.float32)
    graph = helper.make_graph(
        [helper.make_node("Resize", inputs, ["y"], **attrs)],
        "axis",
        [helper.make_tensor_value_info("x", 1, shape)],
        [helper.make_tensor_value_info("y", 1, None)],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", max(node.version, 19))])
    y = ReferenceEvaluator(model).run(None, {"x": eye})[0]
    return y.reshape(size_in, -1).T  # y[j, …, o, …] (every other axis of size 1) = M[o, j]


@op("Resize", "Upsample")
def resize(node, x):
    """Any ONNX resize (every mode, coordinate transform and antialias) of static sizes: per resized axis,
    a matrix product with the [out, in] map ONNX's reference implementation gives that axis. Exact to the
    spec, and TFLite runs it as fully connected layers."""
    data = x[0]
    shape = data.shape.as_list()
    if None in shape:
        raise Unsupported(f"{node.op} {node.name}: resizing needs static input sizes")
    roi, scales, sizes = _resize_inputs(node, x)
    rank = len(shape)
    axes = [a % rank for a in (node.attr("axes") or range(rank))]
    if node.attr("axes") is not None:  # roi, scales, sizes given for these axes only
        given_scales, given_sizes, given_roi = scales, sizes, roi
        scales = [1.0] * rank if given_scales else None
        sizes = list(shape) if given_sizes else None
        roi = [0.0] * rank + [1.0] * rank if given_roi else None
        for i, axis in enumerate(axes):
            if given_scales:
                scales[axis] = given_scales[i]
            if given_sizes:
                sizes[axis] = given_sizes[i]
            if given_roi:
                roi[axis], roi[axis + rank] = given_roi[i], given_roi[i + len(axes)]
    if (
        roi
        and node.attr("coordinate_transformation_mode") == "tf_crop_and_resize"
        and any(not 0.0 <= v <= 1.0 for v in roi)
    ):
        raise Unsupported(
            f"{node.op} {node.name}: a crop that reaches outside the input (extrapolated values "
            f"are not separable by axis)"
        )
    policy = node.attr("keep_aspect_ratio_policy", "stretch")
    if sizes and policy != "stretch":  # one scale for every resized axis, from their sizes
        ratios = [sizes[a] / shape[a] for a in axes]
        scale = min(ratios) if policy == "not_larger" else max(ratios)
        sizes = [int(np.floor(scale * shape[a] + 0.5)) if a in axes else shape[a] for a in range(rank)]
        node = dataclasses.replace(node, attrs={k: v for k, v in node.attrs.items() if k != "keep_aspect_ratio_policy"})
    moving = (
        [a for a in range(rank) if (sizes[a] != shape[a] if sizes else scales[a] != 1.0)] if sizes or scales else []
    )
    if 0 in moving:
        raise Unsupported(f"{node.op} {node.name}: resizing the batch axis")
    out = [(sizes[a] if sizes else int(np.floor(shape[a] * scales[a]))) for a in range(rank)]
    if (
        moving and min(moving) >= 2 and out[:2] == shape[:2] and roi is None and all(out[a] >= shape[a] for a in moving)
    ):  # TF's own resize agrees with ONNX when upsampling
        made = _native(node, data, out[2:])
        if made is not None:
            return made
    y = data if data.dtype == tf.float32 else tf.cast(data, tf.float32)
    for axis in moving:
        matrix = _axis_matrix(node, shape[axis], axis, rank, roi, scales, sizes)
        moved = tf.experimental.numpy.moveaxis(y, axis, -1)
        y = tf.experimental.numpy.moveaxis(
            tf.tensordot(moved, tf.constant(matrix.T.astype(np.float32)), axes=1), -1, axis
        )
    return tf.cast(y, data.dtype) if data.dtype != tf.float32 else y


def _native(node, data, sizes: list[int]):
    """TF's own resize where it computes exactly what ONNX asks (2-D, no antialias): cheaper than matrices."""
    mode = node.attr("mode", "nearest")
    coordinates = node.attr(
        "coordinate_transformation_mode", "asymmetric" if node.op == "Upsample" or node.version < 11 else "half_pixel"
    )
    nearest = node.attr("nearest_mode", "round_prefer_floor")
    if len(sizes) != 2 or node.attr("antialias", 0) or data.dtype != tf.float32:
        return None
    if coordinates == "pytorch_half_pixel" and all(s > 1 for s in sizes):
        coordinates = "half_pixel"
    last = _last(data)
    if mode == "linear" and coordinates in ("half_pixel", "align_corners", "asymmetric"):
        y = tf.compat.v1.image.resize_bilinear(
            last, sizes, align_corners=coordinates == "align_corners", half_pixel_centers=coordinates == "half_pixel"
        )
    elif mode == "nearest" and (node.op == "Upsample" or (coordinates, nearest) == ("asymmetric", "floor")):
        y = tf.compat.v1.image.resize_nearest_neighbor(last, sizes)
    else:
        return None
    return _first(y)


@op("DFT")
def dft(node, x):
    """The discrete Fourier transform of a static length as two matrix products (cosines and sines known
    when the graph is built): TFLite has no complex numbers, and this is exact to float32."""
    value = x[0]
    rank = value.shape.rank
    if node.version >= 20:
        given = len(x) > 2 and x[2] is not None
        if given and static(x[2]) is None:
            raise Unsupported(f"DFT {node.name}: an axis known only at run time")
        axis = int(static(x[2])) if given else -2
    else:
        axis = node.attr("axis", 1)
    axis %= rank
    moved = tf.experimental.numpy.moveaxis(value, axis, -2)  # [..., N, 1 or 2]
    size = moved.shape[-2]
    length = int(static(x[1])) if len(x) > 1 and x[1] is not None else size
    if size is None:
        raise Unsupported(f"DFT {node.name}: a signal length not known when the graph is built")
    if length > size:
        moved = tf.pad(moved, [[0, 0]] * (moved.shape.rank - 2) + [[0, length - size], [0, 0]])
    elif length < size:
        moved = moved[..., :length, :]
    real = moved[..., 0]
    imaginary = moved[..., 1] if moved.shape[-1] == 2 else tf.zeros_like(real)
    bins = length // 2 + 1 if node.attr("onesided", 0) else length
    angle = 2 * np.pi * np.outer(np.arange(bins), np.arange(length)) / length
    cosines = tf.constant(np.cos(angle).T.astype(np.float32), real.dtype)
    sines = tf.constant(np.sin(angle).T.astype(np.float32), real.dtype)
    if node.attr("inverse", 0):
        out_real = (tf.tensordot(real, cosines, 1) - tf.tensordot(imaginary, sines, 1)) / length
        out_imaginary = (tf.tensordot(imaginary, cosines, 1) + tf.tensordot(real, sines, 1)) / length
    else:
        out_real = tf.tensordot(real, cosines, 1) + tf.tensordot(imaginary, sines, 1)
        out_imaginary = tf.tensordot(imaginary, cosines, 1) - tf.tensordot(real, sines, 1)
    return tf.experimental.numpy.moveaxis(tf.stack([out_real, out_imaginary], axis=-1), -2, axis)


CUBIC_A = -0.75  # Keys' cubic convolution, as ONNX's GridSample and Resize use


def _grid_taps(coordinate, mode: str):
    """(index, weight) pairs along one axis for each sampled point: the neighbours the mode reads."""
    if mode == "nearest":
        return [(tf.cast(tf.cast(coordinate, tf.int32), tf.float32), tf.ones_like(coordinate))]  # truncated
    base = tf.floor(coordinate)
    t = coordinate - base
    if mode == "linear":
        return [(base, 1 - t), (base + 1, t)]
    a = CUBIC_A
    weights = [
        ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
        ((a + 2) * t - (a + 3)) * t * t + 1,
        ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
        ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a,
    ]
    return [(base + offset, w) for offset, w in zip((-1, 0, 1, 2), weights, strict=True)]


def _reflect(value, low: float, high: float):
    """Mirrored at the borders until inside [low, high] (ONNX's _gs_reflect)."""
    span = high - low
    if span <= 0:
        return tf.fill(tf.shape(value), tf.constant(low, value.dtype))
    t = tf.math.floormod(value - low, 2 * span)
    return low + tf.where(t <= span, t, 2 * span - t)


@op("GridSample")
def grid_sample(node, x):
    """X [N, C, H, W] read at grid [N, Ho, Wo, (x, y)] in [-1, 1]: nearest, linear or cubic taps per axis,
    padded with zeros, the border or reflections, as ONNX's reference computes it; each tap a batched
    gather of the flattened image."""
    data, grid = x[0], tf.cast(x[1], tf.float32)
    if data.shape.rank != 4 or None in data.shape[1:] or None in grid.shape[1:]:
        raise Unsupported(f"GridSample {node.name}: only 2-D images of static shape")
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(node.attr("mode", "linear"), node.attr("mode", "linear"))
    padding = node.attr("padding_mode", "zeros")
    corners = bool(node.attr("align_corners", 0))
    _, channels, height, width = data.shape
    out_h, out_w = grid.shape[1], grid.shape[2]
    axes = []
    for size, normalized in ((height, grid[..., 1]), (width, grid[..., 0])):
        coordinate = (normalized + 1) / 2 * (size - 1) if corners else ((normalized + 1) * size - 1) / 2
        if mode == "nearest":
            coordinate = tf.round(coordinate)  # half to even
        low, high = (0.0, size - 1.0) if corners else (-0.5, size - 0.5)
        if padding == "border":  # only what lies past the borders moves (inside, the taps clamp instead)
            outside = (coordinate < low) | (coordinate > high)
            coordinate = tf.where(outside, tf.clip_by_value(coordinate, 0.0, size - 1.0), coordinate)
        elif padding == "reflection":
            coordinate = _reflect(coordinate, low, high)
        taps = []
        for index, weight in _grid_taps(coordinate, mode):
            if padding == "zeros":
                weight = weight * tf.cast((index >= 0) & (index <= size - 1), tf.float32)
            elif padding == "reflection":
                index = tf.cast(tf.cast(_reflect(index, low, high), tf.int32), tf.float32)
            taps.append((tf.cast(tf.clip_by_value(index, 0.0, size - 1.0), tf.int32), weight))
        axes.append(taps)
    pixels = tf.reshape(tf.transpose(tf.cast(data, tf.float32), [0, 2, 3, 1]), [-1, height * width, channels])
    total = None
    for row, row_weight in axes[0]:
        for column, column_weight in axes[1]:
            flat = tf.reshape(row * width + column, [-1, out_h * out_w])
            weight = tf.reshape(row_weight * column_weight, [-1, out_h * out_w, 1])
            term = tf.gather(pixels, flat, batch_dims=1) * weight
            total = term if total is None else total + term
    result = tf.transpose(tf.reshape(total, [-1, out_h, out_w, channels]), [0, 3, 1, 2])
    return tf.cast(result, data.dtype)


@op("LpPool")
def lp_pool(node, x):
    """(sum of |x|^p over each window)^(1/p), zero-padded: a sum pool of |x|^p (square and root for p=2)."""
    p = node.attr("p", 2)
    kernel = list(node.attr("kernel_shape"))
    strides, dilations, _, _, full = _pool_pads(node, x[0], kernel)
    powered = tf.square(x[0]) if p == 2 else tf.pow(tf.abs(x[0]), float(p))
    total = _pool_last(_last(_pad_spatial(powered, full)), "AVG", kernel, strides, dilations) * float(np.prod(kernel))
    return _first(tf.sqrt(total) if p == 2 else tf.pow(total, 1.0 / p))


@op("MaxUnpool")
def max_unpool(node, x):
    """Each value written at its MaxPool index (flat over the shape the pooling implies), zeros elsewhere;
    an output_shape beyond that shape pads it with zeros at the end, as ONNX's reference does."""
    data, indices = x[0], x[1]
    kernel = list(node.attr("kernel_shape"))
    count = len(kernel)
    strides = list(node.attr("strides", [1] * count))
    pads = list(node.attr("pads", [0] * 2 * count))
    shape = [
        *data.shape[:2],
        *[
            (s - 1) * st + k - pads[i] - pads[i + count]
            for i, (s, st, k) in enumerate(zip(data.shape[2:], strides, kernel, strict=True))
        ],
    ]
    flat = tf.scatter_nd(tf.reshape(tf.cast(indices, tf.int32), [-1, 1]), tf.reshape(data, [-1]), [int(np.prod(shape))])
    result = tf.reshape(flat, shape)
    if len(x) > 2 and x[2] is not None:
        wanted = static(x[2])
        if wanted is None:
            raise Unsupported(f"MaxUnpool {node.name}: an output_shape known only at run time")
        result = tf.pad(result, [[0, int(w) - s] for w, s in zip(wanted, shape, strict=True)])
    return result


COL2IM_LIMIT = 1 << 26  # elements of the scatter matrix Col2Im builds


@op("Col2Im")
def col2im(node, x):
    """Columns [N, C*prod(block), L] summed back into images [N, C, *image]: a constant 0/1 matrix from
    (block offset, column) to (padded) pixel, cropped by the pads."""
    import itertools

    image, block = static(x[1]), static(x[2])
    if image is None or block is None:
        raise Unsupported(f"Col2Im {node.name}: image_shape and block_shape known only at run time")
    image, block = [int(v) for v in image], [int(v) for v in block]
    rank = len(image)
    dilations = list(node.attr("dilations", [1] * rank))
    pads = list(node.attr("pads", [0] * 2 * rank))
    strides = list(node.attr("strides", [1] * rank))
    padded = [s + pads[i] + pads[i + rank] for i, s in enumerate(image)]
    counts = [(p - ((b - 1) * d + 1)) // s + 1 for p, b, d, s in zip(padded, block, dilations, strides, strict=True)]
    positions, locations = int(np.prod(block)), int(np.prod(counts))
    pixels = int(np.prod(padded))
    if positions * locations * pixels > COL2IM_LIMIT:
        raise Unsupported(f"Col2Im {node.name}: too large to build as one matrix")
    scatter = np.zeros((positions * locations, pixels), np.float32)
    for k, offset in enumerate(itertools.product(*[range(b) for b in block])):
        for location, where in enumerate(itertools.product(*[range(c) for c in counts])):
            pixel = np.ravel_multi_index(
                [w * s + o * d for w, s, o, d in zip(where, strides, offset, dilations, strict=True)], padded
            )
            scatter[k * locations + location, pixel] = 1.0
    data = x[0]
    batch, channels = data.shape[0], data.shape[1] // positions
    summed = tf.matmul(tf.reshape(tf.cast(data, tf.float32), [-1, positions * locations]), scatter)
    result = tf.reshape(summed, [batch, channels, *padded])
    crop = tuple([slice(None), slice(None), *[slice(pads[i], pads[i] + image[i]) for i in range(rank)]])
    return tf.cast(result[crop], data.dtype)
