"""Layers that join or part blobs: Eltwise (SUM with coefficients, PROD, MAX), Concat, Slice, Split, Silence."""

from __future__ import annotations

import numpy as np

from stages.caffe.read import SET
from stages.caffe.to_onnx.graph import Graph, Layer
from stages.caffe.to_onnx.registry import handles


@handles("Eltwise")
def eltwise(g: Graph, layer: Layer) -> None:
    param = layer.param("eltwise_param")
    operation = param.get("operation", "SUM")
    coeffs = [float(c) for c in param.get("coeff", [])]
    if coeffs and operation != "SUM":
        g.refuse(layer, "coefficients are for SUM only")
    if coeffs and len(coeffs) != len(layer.inputs):
        g.refuse(layer, f"it has {len(coeffs)} coefficients for {len(layer.inputs)} bottoms")
    if operation == "MAX":
        g.last("Max", list(layer.inputs), layer)
        return
    if operation == "PROD":
        value = layer.inputs[0]
        for index, other in enumerate(layer.inputs[1:-1], 1):
            value = g.step("Mul", [value, other], layer, f"product{index}")
        g.last("Mul", [value, layer.inputs[-1]], layer)
        return
    terms = [
        name
        if not coeffs or coeffs[i] == 1
        else g.step("Mul", [name, g.const(f"{layer.name}/coeff{i}", np.float32(coeffs[i]))], layer, f"term{i}")
        for i, name in enumerate(layer.inputs)
    ]
    g.last("Sum", terms, layer)


def _axis(g: Graph, layer: Layer, param: dict, legacy: str) -> int:
    """`axis`, or the legacy `concat_dim` / `slice_dim` where the file sets that instead."""
    axis = int(param.get(legacy, 1)) if legacy in param.get(SET, []) else int(param.get("axis", 1))
    return axis + len(g.shape(layer.bottom[0])) if axis < 0 else axis


@handles("Concat")
def concat(g: Graph, layer: Layer) -> None:
    axis = _axis(g, layer, layer.param("concat_param"), "concat_dim")
    if len(layer.inputs) == 1:
        g.last("Identity", list(layer.inputs), layer)
    else:
        g.last("Concat", list(layer.inputs), layer, axis=axis)


@handles("Slice")
def slice_(g: Graph, layer: Layer) -> None:
    param = layer.param("slice_param")
    axis = _axis(g, layer, param, "slice_dim")
    sizes = [g.shape(top)[axis] for top in layer.top]
    outs = [g.write(top, layer.name) for top in layer.top]
    g.node("Split", [layer.inputs[0], g.ints(f"{layer.name}/sizes", sizes)], outs, layer.name, axis=axis)


@handles("Split")
def split(g: Graph, layer: Layer) -> None:
    for index, top in enumerate(layer.top):
        g.node("Identity", [layer.inputs[0]], [g.write(top, layer.name)], f"{layer.name}/{index}")


@handles("Silence")
def silence(g: Graph, layer: Layer) -> None:
    """Consumes its bottoms and writes nothing."""
