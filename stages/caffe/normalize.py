"""Normalization and the error function in Caffe layers (registered on the Caffe emitter's table,
stages/caffe/layers.py): LayerNormalization composed from Reduction, Tile, Power and Scale; Erf (the exact
GELU's) as Abramowitz and Stegun's rational approximation, below a float32's resolution."""

from __future__ import annotations

import numpy as np

from stages.caffe.layers import LAYERS, Net
from stages.caffe.prototxt import Enum
from stages.onnx.emitter import Unsupported, attrs


@LAYERS.handles("LayerNormalization")
def layer_norm(net: Net, node):
    """Over the axes from `axis` on: the tensor as rows [R, D]; the mean and the variance by Reduction MEAN,
    each row's value repeated by Tile; (var + epsilon)^-1/2 by one Power; then gamma and beta by Scale
    over the normalized axes. Caffe's MVN divides by std + eps, not by sqrt(var + eps): not used."""
    a = attrs(node)
    shape = net.shape(node.input[0])
    if not shape or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"LayerNormalization node {node.name!r}: its input's shape is not static")
    if len(node.output) > 1 and any(name in net.read for name in node.output[1:] if name):
        raise Unsupported(f"LayerNormalization node {node.name!r}: its mean or inverse deviation is read")
    rank = len(shape)
    axis = a.get("axis", -1) % rank
    rows, width = int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))
    top, add = node.output[0], net.add
    flat = add(
        node, "Reshape", [node.input[0]], {"reshape_param": {"shape": {"dim": [rows, width]}}}, top=f"{top}/rows"
    )

    def spread(name: str, label: str) -> str:  # a value per row, repeated across the row
        column = add(
            node, "Reshape", [name], {"reshape_param": {"shape": {"dim": [rows, 1]}}}, top=f"{top}/{label}_col"
        )
        return add(node, "Tile", [column], {"tile_param": {"axis": 1, "tiles": width}}, top=f"{top}/{label}_tiled")

    mean = add(
        node, "Reduction", [flat], {"reduction_param": {"operation": Enum("MEAN"), "axis": 1}}, top=f"{top}/mean"
    )
    centered = add(
        node,
        "Eltwise",
        [flat, spread(mean, "mean")],
        {"eltwise_param": {"operation": Enum("SUM"), "coeff": [1.0, -1.0]}},
        top=f"{top}/centered",
    )
    squared = add(node, "Power", [centered], {"power_param": {"power": 2.0}}, top=f"{top}/squared")
    variance = add(
        node, "Reduction", [squared], {"reduction_param": {"operation": Enum("MEAN"), "axis": 1}}, top=f"{top}/variance"
    )
    inverse = add(
        node,
        "Power",
        [variance],
        {"power_param": {"power": -0.5, "shift": float(a.get("epsilon", 1e-5))}},
        top=f"{top}/inverse_std",
    )
    normed = add(
        node,
        "Eltwise",
        [centered, spread(inverse, "inverse_std")],
        {"eltwise_param": {"operation": Enum("PROD")}},
        top=f"{top}/normed",
    )
    normed = add(node, "Reshape", [normed], {"reshape_param": {"shape": {"dim": list(shape)}}}, top=f"{top}/normed_nd")
    gamma = net.constant(node.input[1], node, "scale")
    beta = net.constant(node.input[2], node, "bias") if len(node.input) > 2 and node.input[2] else None
    blobs = [np.broadcast_to(gamma, shape[axis:])] + ([np.broadcast_to(beta, shape[axis:])] if beta is not None else [])
    net.shapes.setdefault(top, list(shape))
    return add(
        node, "Scale", [normed], {"scale_param": {"axis": axis, "num_axes": -1, "bias_term": beta is not None}}, blobs
    )


ERF = (0.3275911, (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))


@LAYERS.handles("Erf")
def erf(net: Net, node):
    """Caffe has no erf: Abramowitz and Stegun's 7.1.26 on |x| (1 - t(a1 + t(a2 + … a5 t)) e^(-x^2), with
    t = 1 / (1 + p|x|)), whose error is below 1.5e-7 everywhere (the resolution of a float32 near 1; ONNX
    Runtime's own erf is a polynomial too), times the sign of x (Threshold at 0, as 2s - 1)."""
    p, (a1, a2, a3, a4, a5) = ERF
    top, add, x = node.output[0], net.add, node.input[0]
    size = add(node, "AbsVal", [x], top=f"{top}/abs")
    t = add(node, "Power", [size], {"power_param": {"power": -1.0, "scale": p, "shift": 1.0}}, top=f"{top}/t")
    poly = add(node, "Power", [t], {"power_param": {"scale": a5, "shift": a4}}, top=f"{top}/horner_4")
    for index, coefficient in ((3, a3), (2, a2), (1, a1)):
        product = add(
            node, "Eltwise", [poly, t], {"eltwise_param": {"operation": Enum("PROD")}}, top=f"{top}/horner_{index}_t"
        )
        poly = add(node, "Power", [product], {"power_param": {"shift": coefficient}}, top=f"{top}/horner_{index}")
    poly = add(node, "Eltwise", [poly, t], {"eltwise_param": {"operation": Enum("PROD")}}, top=f"{top}/poly")
    gauss = add(
        node,
        "Exp",
        [add(node, "Power", [size], {"power_param": {"power": 2.0}}, top=f"{top}/square")],
        {"exp_param": {"scale": -1.0}},
        top=f"{top}/gauss",
    )
    tail = add(node, "Eltwise", [poly, gauss], {"eltwise_param": {"operation": Enum("PROD")}}, top=f"{top}/tail")
    magnitude = add(node, "Power", [tail], {"power_param": {"scale": -1.0, "shift": 1.0}}, top=f"{top}/magnitude")
    step = add(node, "Threshold", [x], {"threshold_param": {"threshold": 0.0}}, top=f"{top}/positive")
    sign = add(node, "Power", [step], {"power_param": {"scale": 2.0, "shift": -1.0}}, top=f"{top}/sign")
    return add(node, "Eltwise", [magnitude, sign], {"eltwise_param": {"operation": Enum("PROD")}})
