"""ONNX's neural-network ops: convolutions, pooling, normalizations, Gemm and MatMul, softmax, Einsum.

Padding: symmetric pads go to torch's own `padding`; asymmetric ones (and auto_pad, computed from the
input's size) become an explicit F.pad. Pooling keeps ceil_mode and count_include_pad; where torch's own
padding cannot say what ONNX means, the window is computed on the explicitly padded input and corrected
exactly (the divisor of an average, a last window torch would add).
"""

from __future__ import annotations

import math
import operator

import numpy as np
import torch
import torch.nn.functional as F

from stages.onnx.emitter import Unsupported, attrs
from stages.torch.from_onnx.table import OPS, axis_of, present, text

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _out(node) -> str:
    return node.output[0]


def _spatial(count: int, node) -> int:
    if count not in (1, 2, 3):
        raise Unsupported(f"{node.op_type} node {node.name!r}: {count} spatial dimensions (torch has 1-d to 3-d)")
    return count


def pads(g, node, x: str, kernel, strides, dilations) -> tuple[list[int], list[int]]:
    """ONNX's pads (or auto_pad's, from the input's spatial size) as (begin, end) per spatial axis."""
    a = attrs(node)
    spatial = len(kernel)
    auto = text(a.get("auto_pad", "NOTSET"))
    if auto in ("NOTSET", ""):
        given = list(a.get("pads", [0] * 2 * spatial))
        return given[:spatial], given[spatial:]
    if auto == "VALID":
        return [0] * spatial, [0] * spatial
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise Unsupported(f"{node.op_type} node {node.name!r}: auto_pad {auto}")
    sizes = g.static_dims(x, range(2, 2 + spatial), node, "the input's spatial size (for auto_pad)")
    begin, end = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        total = max(0, (math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n)
        small, big = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else big)
        end.append(big if auto == "SAME_UPPER" else small)
    return begin, end


def torch_pad(begin: list[int], end: list[int]) -> list[int]:
    """F.pad's order: the last axis first, (begin, end) each."""
    return [w for b, e in zip(reversed(begin), reversed(end), strict=True) for w in (b, e)]


def _geometry(g, node):
    """A convolution's attributes, spatial rank, kernel, strides and dilations (ONNX's defaults filled in)."""
    a = attrs(node)
    weight = g.shape(node.input[1])
    spatial = _spatial(len(weight) - 2, node)
    kernel = list(a.get("kernel_shape", weight[2:]))
    return a, spatial, kernel, list(a.get("strides", [1] * spatial)), list(a.get("dilations", [1] * spatial))


@OPS.handles("Conv")
def conv(g, node):
    a, spatial, kernel, strides, dilations = _geometry(g, node)
    begin, end = pads(g, node, node.input[0], kernel, strides, dilations)
    x = g.tensor(node.input[0])
    if begin != end:
        x = g.call(F.pad, x, torch_pad(begin, end))
        begin = [0] * spatial
    bias = present(node, 2)
    return g.call(
        CONV[spatial],
        x,
        g.tensor(node.input[1]),
        g.tensor(bias) if bias else None,
        stride=tuple(strides),
        padding=tuple(begin),
        dilation=tuple(dilations),
        groups=int(a.get("group", 1)),
        name=_out(node),
    )


@OPS.handles("ConvTranspose")
def conv_transpose(g, node):
    a, spatial, kernel, strides, dilations = _geometry(g, node)
    extra = list(a.get("output_padding", [0] * spatial))
    auto = text(a.get("auto_pad", "NOTSET"))
    if "output_shape" in a or auto in ("SAME_UPPER", "SAME_LOWER"):
        sizes = g.static_dims(node.input[0], range(2, 2 + spatial), node, "the input's spatial size")
        wanted = (
            list(a["output_shape"])[-spatial:]
            if "output_shape" in a
            else [n * s for n, s in zip(sizes, strides, strict=True)]
        )
        totals = [
            s * (n - 1) + p + (k - 1) * d + 1 - o
            for n, s, p, k, d, o in zip(sizes, strides, extra, kernel, dilations, wanted, strict=True)
        ]
        if any(t % 2 for t in totals) or any(t < 0 for t in totals):
            raise Unsupported(
                f"ConvTranspose node {node.name!r}: output_shape/auto_pad asks for an odd total padding "
                f"{totals}, which ONNX's specification and ONNX Runtime put on different sides"
            )
        begin = end = [t // 2 for t in totals]
    elif auto not in ("NOTSET", "", "VALID"):
        raise Unsupported(f"ConvTranspose node {node.name!r}: auto_pad {auto}")
    else:
        given = list(a.get("pads", [0] * 2 * spatial)) if auto != "VALID" else [0] * 2 * spatial
        begin, end = given[:spatial], given[spatial:]
    if any(p < 0 for p in begin + end):
        raise Unsupported(f"ConvTranspose node {node.name!r}: negative pads {begin + end}")
    bias = present(node, 2)
    args = (g.tensor(node.input[0]), g.tensor(node.input[1]), g.tensor(bias) if bias else None)
    options = dict(
        stride=tuple(strides), output_padding=tuple(extra), groups=int(a.get("group", 1)), dilation=tuple(dilations)
    )
    if begin == end:
        return g.call(CONV_TRANSPOSE[spatial], *args, padding=tuple(begin), **options, name=_out(node))
    # torch's padding crops both sides alike: crop the full output by hand instead
    y = g.call(CONV_TRANSPOSE[spatial], *args, padding=(0,) * spatial, **options)
    full = list(y.meta["at"][g.batches[0]].shape[2:])
    index = (slice(None), slice(None), *(slice(b, n - e) for b, e, n in zip(begin, end, full, strict=True)))
    return g.call(operator.getitem, y, index, name=_out(node))


def _pool_size(n: int, k: int, s: int, b: int, e: int, d: int, ceil: bool) -> int:
    """ONNX's output size along one axis; in ceil mode a last window that would start in the end padding is
    dropped (ONNX Runtime, ONNX's reference and PyTorch alike)."""
    span = n + b + e - d * (k - 1) - 1
    if not ceil:
        return span // s + 1
    size = math.ceil(span / s) + 1
    return size - 1 if (size - 1) * s >= n + b else size


@OPS.handles("MaxPool", "AveragePool")
def pool(g, node):
    a = attrs(node)
    kernel = list(a["kernel_shape"])
    spatial = _spatial(len(kernel), node)
    strides, dilations = list(a.get("strides", [1] * spatial)), list(a.get("dilations", [1] * spatial))
    is_max = node.op_type == "MaxPool"
    if len(node.output) > 1 and node.output[1]:
        raise Unsupported(f"MaxPool node {node.name!r}: its Indices output")
    if not is_max and any(d != 1 for d in dilations):
        raise Unsupported(f"AveragePool node {node.name!r}: dilations {dilations} (torch's avg_pool has none)")
    ceil, include = bool(a.get("ceil_mode", 0)), bool(a.get("count_include_pad", 0))
    begin, end = pads(g, node, node.input[0], kernel, strides, dilations)
    x = g.tensor(node.input[0])
    window = dict(kernel_size=tuple(kernel), stride=tuple(strides), ceil_mode=ceil)
    if is_max:
        window["dilation"] = tuple(dilations)
    fn = (MAX_POOL if is_max else AVG_POOL)[spatial]
    # torch pads both sides alike, by at most half the (dilated) window
    if begin == end and all(2 * p <= (k - 1) * d + 1 for p, k, d in zip(begin, kernel, dilations, strict=True)):
        if not is_max:
            window["count_include_pad"] = include
        return g.call(fn, x, padding=tuple(begin), **window, name=_out(node))
    sizes = g.static_dims(node.input[0], range(2, 2 + spatial), node, "the input's spatial size")
    wanted = [
        _pool_size(n, k, s, b, e, d, ceil)
        for n, k, s, b, e, d in zip(sizes, kernel, strides, begin, end, dilations, strict=True)
    ]
    padded = g.call(F.pad, x, torch_pad(begin, end), value=-math.inf if is_max else 0.0)
    y = g.call(fn, padded, padding=0, **window)
    if not is_max and not include and any(begin + end):
        # the window's share of real (not padded) values, constant for these sizes: mean of real values only
        ones = F.pad(torch.ones([1, 1, *sizes]), torch_pad(begin, end))
        share = AVG_POOL[spatial](ones, padding=0, **window)
        y = g.call(torch.div, y, g.attribute(f"{_out(node)}_real_share", share.numpy().astype(np.float32), buffer=True))
    got = list(y.meta["at"][g.batches[0]].shape[2:])
    if got == wanted:
        return y
    if any(have < want for have, want in zip(got, wanted, strict=True)):
        raise Unsupported(f"{node.op_type} node {node.name!r}: torch gives {got} windows, ONNX {wanted}")
    # ceil_mode on the padded input: torch would keep a last window that ONNX drops (it starts in the padding)
    return g.call(operator.getitem, y, (slice(None), slice(None), *(slice(0, w) for w in wanted)), name=_out(node))


@OPS.handles("GlobalAveragePool", "GlobalMaxPool")
def global_pool(g, node):
    dims = tuple(range(2, g.rank(node.input[0])))
    fn = torch.mean if node.op_type == "GlobalAveragePool" else torch.amax
    return g.call(fn, g.tensor(node.input[0]), dim=dims, keepdim=True, name=_out(node))


@OPS.handles("BatchNormalization")
def batch_norm(g, node):
    a = attrs(node)
    if a.get("training_mode", 0) or (len(node.output) > 1 and any(node.output[1:])):
        raise Unsupported(f"BatchNormalization node {node.name!r} is in training mode (running statistics as outputs)")
    if not a.get("spatial", 1):
        raise Unsupported(f"BatchNormalization node {node.name!r}: spatial=0 (statistics per activation)")
    scale, bias, mean, var = node.input[1:5]
    return g.call(
        F.batch_norm,
        g.tensor(node.input[0]),
        g.tensor(mean, buffer=True),
        g.tensor(var, buffer=True),
        g.tensor(scale),
        g.tensor(bias),
        training=False,
        momentum=1 - float(a.get("momentum", 0.9)),
        eps=float(a.get("epsilon", 1e-5)),
        name=_out(node),
    )


@OPS.handles("InstanceNormalization")
def instance_norm(g, node):
    return g.call(
        F.instance_norm,
        g.tensor(node.input[0]),
        weight=g.tensor(node.input[1]),
        bias=g.tensor(node.input[2]),
        eps=float(attrs(node).get("epsilon", 1e-5)),
        name=_out(node),
    )


@OPS.handles("LayerNormalization")
def layer_norm(g, node):
    a = attrs(node)
    if len(node.output) > 1 and any(node.output[1:]):
        raise Unsupported(f"LayerNormalization node {node.name!r}: its Mean and InvStdDev outputs are used")
    rank = g.rank(node.input[0])
    axis = axis_of(int(a.get("axis", -1)), rank, node)
    normalized = g.static_dims(node.input[0], range(axis, rank), node, "the normalized dimensions")
    eps = float(a.get("epsilon", 1e-5))
    scale, bias = node.input[1], present(node, 2)
    x = g.tensor(node.input[0])
    if g.shape(scale) == normalized and (bias is None or g.shape(bias) == normalized):
        return g.call(
            F.layer_norm, x, normalized, g.tensor(scale), g.tensor(bias) if bias else None, eps, name=_out(node)
        )
    y = g.call(torch.mul, g.call(F.layer_norm, x, normalized, None, None, eps), g.tensor(scale))  # broadcast
    return g.call(torch.add, y, g.tensor(bias), name=_out(node)) if bias else y


@OPS.handles("LRN")
def lrn(g, node):
    a = attrs(node)
    size = int(a["size"])
    if size % 2 == 0:
        raise Unsupported(f"LRN node {node.name!r}: an even size ({size}) windows the channels differently in torch")
    return g.call(
        F.local_response_norm,
        g.tensor(node.input[0]),
        size,
        alpha=float(a.get("alpha", 1e-4)),
        beta=float(a.get("beta", 0.75)),
        k=float(a.get("bias", 1.0)),
        name=_out(node),
    )


@OPS.handles("Gemm")
def gemm(g, node):
    a = attrs(node)
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    trans_a, trans_b = bool(a.get("transA", 0)), bool(a.get("transB", 0))
    c = present(node, 2)
    n = g.shape(node.input[1])[0 if trans_b else 1]
    if not trans_a and trans_b and alpha == 1.0 and (c is None or (beta == 1.0 and g.shape(c) == [n])):
        return g.call(
            F.linear, g.tensor(node.input[0]), g.tensor(node.input[1]), g.tensor(c) if c else None, name=_out(node)
        )
    left, right = g.tensor(node.input[0]), g.tensor(node.input[1])
    if trans_a:
        left = g.call(torch.transpose, left, 0, 1)
    if trans_b:
        right = g.call(torch.transpose, right, 0, 1)
    y = g.call(torch.matmul, left, right, name=None if c or alpha != 1.0 else _out(node))
    if alpha != 1.0:
        y = g.call(torch.mul, y, alpha, name=None if c else _out(node))
    if c:
        bias = g.tensor(c) if beta == 1.0 else g.call(torch.mul, g.tensor(c), beta)
        y = g.call(torch.add, y, bias, name=_out(node))
    return y


@OPS.handles("MatMul")
def matmul(g, node):
    return g.call(torch.matmul, g.tensor(node.input[0]), g.tensor(node.input[1]), name=_out(node))


@OPS.handles("Einsum")
def einsum(g, node):
    equation = text(attrs(node)["equation"]).replace(" ", "")
    return g.call(torch.einsum, equation, *(g.tensor(name) for name in node.input), name=_out(node))


@OPS.handles("Softmax", "LogSoftmax")
def softmax(g, node):
    rank = g.rank(node.input[0])
    fn = F.softmax if node.op_type == "Softmax" else F.log_softmax
    axis = axis_of(int(attrs(node).get("axis", -1 if g.opset >= 13 else 1)), rank, node)
    x = g.tensor(node.input[0])
    if g.opset >= 13 or axis == rank - 1:
        return g.call(fn, x, dim=axis, name=_out(node))
    # before opset 13: over the dimensions from `axis` on, as one
    flat = g.call(torch.flatten, x, axis)
    return g.call(torch.Tensor.reshape_as, g.call(fn, flat, dim=-1), x, name=_out(node))
