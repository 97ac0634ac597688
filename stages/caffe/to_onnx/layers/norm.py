"""BatchNorm (its scale-factor blob), Scale and Bias (one bottom with learned blobs, or two), LRN (across
and within channels) and MVN."""

from __future__ import annotations

import numpy as np

from stages.caffe.read import SET
from stages.caffe.to_onnx.graph import Graph, Layer
from stages.caffe.to_onnx.registry import handles


@handles("BatchNorm")
def batch_norm(g: Graph, layer: Layer) -> None:
    param = layer.param("batch_norm_param")
    if SET in param and "use_global_stats" in param[SET] and not param["use_global_stats"]:
        g.refuse(
            layer,
            "use_global_stats: false normalizes by each batch's own statistics, which an inference "
            "graph cannot reproduce",
        )
    factor = float(g.blob(layer, 2).reshape(-1)[0])
    factor = 0.0 if factor == 0 else 1.0 / factor
    mean, var = g.blob(layer, 0).reshape(-1) * factor, g.blob(layer, 1).reshape(-1) * factor
    count = mean.size
    g.last(
        "BatchNormalization",
        [
            layer.inputs[0],
            g.const(f"{layer.name}/gamma", np.ones(count, np.float32)),
            g.const(f"{layer.name}/beta", np.zeros(count, np.float32)),
            g.const(f"{layer.name}/mean", mean),
            g.const(f"{layer.name}/var", var),
        ],
        layer,
        epsilon=float(param.get("eps", 1e-5)),
    )


def _span(g: Graph, layer: Layer, param: dict) -> tuple[int, int]:
    """The axes a Scale or Bias operand covers: from `axis`, `num_axes` of them (-1: to the end)."""
    rank = len(g.shape(layer.bottom[0]))
    axis = int(param.get("axis", 1))
    axis = axis + rank if axis < 0 else axis
    count = int(param.get("num_axes", 1))
    return axis, rank - axis if count == -1 else count


def _operand(g: Graph, layer: Layer, param: dict, blob: int, what: str) -> str:
    """A learned operand shaped to broadcast from `axis` (ONNX aligns shapes from the right)."""
    rank = len(g.shape(layer.bottom[0]))
    axis, count = _span(g, layer, param)
    dims = g.shape(layer.bottom[0])[axis : axis + count]
    value = g.blob(layer, blob).reshape(dims + [1] * (rank - axis - count))
    return g.const(f"{layer.name}/{what}", value)


def _second_bottom(g: Graph, layer: Layer, param: dict) -> str:
    rank = len(g.shape(layer.bottom[0]))
    axis = int(param.get("axis", 1))
    axis = axis + rank if axis < 0 else axis
    dims = g.shape(layer.bottom[1])
    if axis + len(dims) == rank:
        return layer.inputs[1]
    trailing = list(range(axis + len(dims), rank))  # unit axes after it (whatever its batch)
    return g.step("Unsqueeze", [layer.inputs[1], g.ints(f"{layer.name}/operand_axes", trailing)], layer, "operand")


@handles("Scale")
def scale(g: Graph, layer: Layer) -> None:
    param = layer.param("scale_param")
    two = len(layer.inputs) > 1
    factor = _second_bottom(g, layer, param) if two else _operand(g, layer, param, 0, "scale")
    if not param.get("bias_term", False):
        g.last("Mul", [layer.inputs[0], factor], layer)
        return
    scaled = g.step("Mul", [layer.inputs[0], factor], layer, "scaled")
    if two:  # the learned bias has the second bottom's shape, from `axis`
        rank, axis, dims = len(g.shape(layer.bottom[0])), int(param.get("axis", 1)), g.shape(layer.bottom[1])
        axis = axis + rank if axis < 0 else axis
        term = g.const(f"{layer.name}/bias", g.blob(layer, 0).reshape(dims + [1] * (rank - axis - len(dims))))
    else:
        term = _operand(g, layer, param, 1, "bias")
    g.last("Add", [scaled, term], layer)


@handles("Bias")
def bias(g: Graph, layer: Layer) -> None:
    param = layer.param("bias_param")
    term = _second_bottom(g, layer, param) if len(layer.inputs) > 1 else _operand(g, layer, param, 0, "bias")
    g.last("Add", [layer.inputs[0], term], layer)


@handles("LRN")
def lrn(g: Graph, layer: Layer) -> None:
    param = layer.param("lrn_param")
    size, alpha, beta = int(param.get("local_size", 5)), float(param.get("alpha", 1)), float(param.get("beta", 0.75))
    k = float(param.get("k", 1))
    if param.get("norm_region", "ACROSS_CHANNELS") == "ACROSS_CHANNELS":
        g.last("LRN", [layer.inputs[0]], layer, size=size, alpha=alpha, beta=beta, bias=k)
        return
    # WITHIN_CHANNEL, as Caffe computes it: x / (1 + alpha * mean of x^2 over a size x size window)^beta
    # (the window padded to keep the size, its divisor always size^2).
    pad = (size - 1) // 2
    square = g.step("Mul", [layer.inputs[0], layer.inputs[0]], layer, "square")
    mean = g.step(
        "AveragePool", [square], layer, "mean", kernel_shape=[size, size], pads=[pad] * 4, count_include_pad=1
    )
    scaled = g.step("Mul", [mean, g.const(f"{layer.name}/alpha", np.float32(alpha))], layer, "scaled")
    shifted = g.step("Add", [scaled, g.const(f"{layer.name}/one", np.float32(1))], layer, "shifted")
    power = g.step("Pow", [shifted, g.const(f"{layer.name}/beta", np.float32(-beta))], layer, "power")
    g.last("Mul", [layer.inputs[0], power], layer)


@handles("MVN")
def mvn(g: Graph, layer: Layer) -> None:
    param = layer.param("mvn_param")
    rank = len(g.shape(layer.bottom[0]))
    axes = list(range(1 if param.get("across_channels", False) else 2, rank))
    mean = g.step("ReduceMean", [layer.inputs[0]], layer, "mean", axes=axes, keepdims=1)
    centred_last = not param.get("normalize_variance", True)
    if centred_last:
        g.last("Sub", [layer.inputs[0], mean], layer)
        return
    centred = g.step("Sub", [layer.inputs[0], mean], layer, "centred")
    square = g.step("Mul", [centred, centred], layer, "square")
    variance = g.step("ReduceMean", [square], layer, "variance", axes=axes, keepdims=1)
    std = g.step("Sqrt", [variance], layer, "std")
    denominator = g.step(
        "Add", [std, g.const(f"{layer.name}/eps", np.float32(param.get("eps", 1e-9)))], layer, "denominator"
    )
    g.last("Div", [centred, denominator], layer)
