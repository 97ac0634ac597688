"""Pooling: Caffe rounds output sizes up (unless round_mode: FLOOR) and clips the last window so it starts
inside the padded input. The output size is Caffe's own (the top's shape); ONNX gets it from explicit end
padding, floor rounding. An average divides by the window clipped to the padded input, which ONNX's
count_include_pad cannot say where that extra end padding exists: there ONNX averages over the window's
real values and a constant map scales each position to Caffe's divisor."""

from __future__ import annotations

import numpy as np

from stages.caffe.to_onnx.graph import Graph, Layer
from stages.caffe.to_onnx.registry import handles


def _pair(param: dict, field: str, default: int) -> list[int]:
    h, w = int(param.get(f"{field}_h", 0) or 0), int(param.get(f"{field}_w", 0) or 0)
    if h or w:
        return [h, w]
    single = int(param.get(field if field != "kernel" else "kernel_size", default) or default)
    return [single, single]


def _divisors(size: int, out: int, kernel: int, stride: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output position along one axis: Caffe's divisor and the count of real values in its window."""
    start = np.arange(out) * stride - pad
    caffe = np.minimum(start + kernel, size + pad) - start
    real = np.minimum(start + kernel, size) - np.maximum(start, 0)
    return caffe, real


@handles("Pooling")
def pooling(g: Graph, layer: Layer) -> None:
    param = layer.param("pooling_param")
    kind = param.get("pool", "MAX")
    if kind not in ("MAX", "AVE"):
        g.refuse(layer, f"pool {kind} has no ONNX counterpart (only MAX and AVE)")
    shape, top = g.shape(layer.bottom[0]), g.shape(layer.top[0])
    if len(shape) != 4:
        g.refuse(layer, f"it pools a {len(shape)}-D blob; Caffe's pooling is 2-D")
    if param.get("global_pooling", False):
        g.last("GlobalMaxPool" if kind == "MAX" else "GlobalAveragePool", [layer.inputs[0]], layer)
        return
    kernel, stride, pad = _pair(param, "kernel", 0), _pair(param, "stride", 1), _pair(param, "pad", 0)
    if not all(kernel):
        g.refuse(layer, "it sets no kernel size")
    sizes, outs = shape[2:], top[2:]
    extra = [max(0, (o - 1) * s + k - (n + 2 * p)) for n, o, k, s, p in zip(sizes, outs, kernel, stride, pad)]
    attrs = {"kernel_shape": kernel, "strides": stride, "pads": [*pad, *(p + e for p, e in zip(pad, extra))]}
    if kind == "MAX":
        g.last("MaxPool", [layer.inputs[0]], layer, **attrs)
        return
    (caffe_h, real_h), (caffe_w, real_w) = (
        _divisors(n, o, k, s, p) for n, o, k, s, p in zip(sizes, outs, kernel, stride, pad)
    )
    if not any(extra):
        g.last("AveragePool", [layer.inputs[0]], layer, count_include_pad=int(any(pad)), **attrs)
        return
    scale = (np.outer(real_h, real_w) / np.outer(caffe_h, caffe_w)).astype(np.float32)
    if np.all(scale == 1):
        g.last("AveragePool", [layer.inputs[0]], layer, count_include_pad=0, **attrs)
        return
    mean = g.step("AveragePool", [layer.inputs[0]], layer, "mean", count_include_pad=0, **attrs)
    g.last("Mul", [mean, g.const(f"{layer.name}/divisor", scale[None, None])], layer)
