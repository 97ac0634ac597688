"""Convolution, Deconvolution (grouped, dilated, N-d) and InnerProduct."""

from __future__ import annotations

import numpy as np

from stages.caffe.to_onnx.graph import Graph, Layer
from stages.caffe.to_onnx.registry import handles


def _per_axis(param: dict, field: str, axis_h: str, axis_w: str, spatial: int, default: int) -> list[int]:
    """Caffe's geometry: the repeated field (one value for every axis, or one per axis), else its _h/_w
    pair (2-D only)."""
    values = [int(v) for v in param.get(field, [])]
    if values:
        return values * spatial if len(values) == 1 else values
    h, w = int(param.get(axis_h, 0) or 0), int(param.get(axis_w, 0) or 0)
    if spatial == 2 and (h or w):
        return [h or default, w or default]
    return [default] * spatial


def geometry(g: Graph, layer: Layer, param: dict, spatial: int) -> dict:
    kernel = _per_axis(param, "kernel_size", "kernel_h", "kernel_w", spatial, 0)
    if not all(kernel):
        g.refuse(layer, "it sets no kernel size")
    pads = _per_axis(param, "pad", "pad_h", "pad_w", spatial, 0)
    return {
        "kernel_shape": kernel,
        "strides": _per_axis(param, "stride", "stride_h", "stride_w", spatial, 1),
        "pads": pads + pads,
    }


def _convolution(g: Graph, layer: Layer, transposed: bool) -> None:
    param = layer.param("convolution_param")
    if int(param.get("axis", 1)) != 1:
        g.refuse(layer, f"it convolves from axis {param['axis']}; ONNX convolves from axis 1 only")
    spatial = len(g.shape(layer.top[0])) - 2
    attrs = geometry(g, layer, param, spatial)
    dilation = [int(v) for v in param.get("dilation", [])] or [1]
    attrs["dilations"] = dilation * spatial if len(dilation) == 1 else dilation
    group = int(param.get("group", 1))
    weight = g.blob(layer, 0)
    out = int(param["num_output"])
    inputs_c = g.shape(layer.bottom[0])[1]
    shape = (
        [inputs_c, out // group, *attrs["kernel_shape"]]
        if transposed
        else [out, inputs_c // group, *attrs["kernel_shape"]]
    )
    if weight.size != int(np.prod(shape)):
        g.refuse(layer, f"its weights hold {weight.size} values; {shape} were expected")
    inputs = [layer.inputs[0], g.const(f"{layer.name}/weight", weight.reshape(shape))]
    if param.get("bias_term", True):
        inputs.append(g.const(f"{layer.name}/bias", g.blob(layer, 1).reshape(-1)))
    g.last("ConvTranspose" if transposed else "Conv", inputs, layer, group=group, **attrs)


@handles("Convolution")
def convolution(g: Graph, layer: Layer) -> None:
    _convolution(g, layer, False)


@handles("Deconvolution")
def deconvolution(g: Graph, layer: Layer) -> None:
    _convolution(g, layer, True)


@handles("InnerProduct")
def inner_product(g: Graph, layer: Layer) -> None:
    param = layer.param("inner_product_param")
    axis = int(param.get("axis", 1))
    shape = g.shape(layer.bottom[0])
    axis = axis + len(shape) if axis < 0 else axis
    count, size = int(param["num_output"]), int(np.prod(shape[axis:]))
    transpose = bool(param.get("transpose", False))
    weight = g.blob(layer, 0).reshape((size, count) if transpose else (count, size))
    flat = (
        layer.inputs[0]
        if len(shape) == 2 and axis == 1
        else g.step("Flatten", [layer.inputs[0]], layer, "flatten", axis=axis)
    )
    inputs = [flat, g.const(f"{layer.name}/weight", weight)]
    if param.get("bias_term", True):
        inputs.append(g.const(f"{layer.name}/bias", g.blob(layer, 1).reshape(-1)))
    top = g.shape(layer.top[0])
    if len(top) == 2:
        g.last("Gemm", inputs, layer, transB=0 if transpose else 1)
        return
    product = g.step("Gemm", inputs, layer, "gemm", transB=0 if transpose else 1)
    g.last("Reshape", [product, g.target_shape(layer)], layer)
