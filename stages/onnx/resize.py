"""ONNX's nearest-neighbour Resize, decided exactly: the source index of every output index as ONNX's
spec computes it (coordinate transformation, then nearest_mode, then the clamp), compared with a plain
integer upsampling (output i takes input i // k). Where they agree on every axis, an emitter may write the
Resize as its framework's integer upsampling (MXNet's UpSampling, a Caffe Deconvolution of ones)."""
from __future__ import annotations

import math

import numpy as np

from stages.onnx.emitter import Unsupported, attrs


def source_index(i: np.ndarray, size_in: int, size_out: int, scale: float, transform: str, mode: str) -> np.ndarray:
    """ONNX Resize (nearest): the input index each output index `i` reads along one axis."""
    if transform in ("half_pixel", "half_pixel_symmetric"):
        if transform == "half_pixel_symmetric":
            adjustment = size_out / (scale * size_in)
            center = size_in / 2
            offset = center * (1 - adjustment)
            x = offset + (i + 0.5) / scale - 0.5
        else:
            x = (i + 0.5) / scale - 0.5
    elif transform == "pytorch_half_pixel":
        x = (i + 0.5) / scale - 0.5 if size_out > 1 else np.zeros_like(i, dtype=float)
    elif transform == "align_corners":
        x = i * (size_in - 1) / (size_out - 1) if size_out > 1 else np.zeros_like(i, dtype=float)
    elif transform == "asymmetric":
        x = i / scale
    elif transform == "tf_half_pixel_for_nn":
        x = (i + 0.5) / scale
    else:
        raise ValueError(transform)
    if mode == "floor":
        index = np.floor(x)
    elif mode == "ceil":
        index = np.ceil(x)
    elif mode == "round_prefer_ceil":
        index = np.floor(x + 0.5)
    else:   # round_prefer_floor, ONNX's default
        index = np.ceil(x - 0.5)
    return np.clip(index, 0, size_in - 1).astype(np.int64)


def nearest_factors(node, shape_in: list, shape_out: list, constants: dict, what: str) -> list[int]:
    """[kh, kw]: the integer factors (of a 4-d NCHW tensor's last two axes) by which this nearest Resize
    repeats each element, or Unsupported naming why it is not one (another mode, a crop (roi), sizes that
    are no multiple, an index map that differs from i // k anywhere)."""
    a = attrs(node)
    def decode(value):
        return value.decode() if isinstance(value, bytes) else value
    mode = decode(a.get("mode", "nearest"))
    # Upsample and opset 10's Resize (inputs X, scales) take floor(i / scale); opset 11 on has the attributes
    legacy = len(node.input) <= 2
    transform = decode(a.get("coordinate_transformation_mode", "asymmetric" if legacy else "half_pixel"))
    nearest = decode(a.get("nearest_mode", "floor" if legacy else "round_prefer_floor"))
    where = f"Resize node {node.name!r}"
    if mode != "nearest":
        raise Unsupported(f"{where}: mode {mode}; {what} has integer nearest upsampling only")
    if transform == "tf_crop_and_resize" or a.get("antialias") or a.get("axes") is not None \
            or a.get("keep_aspect_ratio_policy", b"stretch") not in (b"stretch", "stretch"):
        raise Unsupported(f"{where}: {transform}, antialias, axes or an aspect policy; {what} has plain "
                          f"upsampling only")
    if not shape_in or not shape_out or len(shape_in) != 4 or len(shape_out) != 4 \
            or not all(isinstance(d, int) for d in (*shape_in[1:], *shape_out[1:])):
        raise Unsupported(f"{where}: its input or output is not a 4-d tensor of static shape")
    scales_name = node.input[1] if len(node.input) == 2 else (node.input[2] if len(node.input) > 2 else "")
    given = constants.get(scales_name) if scales_name else np.asarray(a["scales"]) if "scales" in a else None
    factors = []
    for axis, (size_in, size_out) in enumerate(zip(shape_in, shape_out)):
        if axis == 0:
            continue
        if size_out % size_in:
            raise Unsupported(f"{where}: axis {axis} goes from {size_in} to {size_out}, no integer multiple")
        k = size_out // size_in
        scale = float(given[axis]) if given is not None and given.size == len(shape_in) else size_out / size_in
        index = source_index(np.arange(size_out), size_in, size_out, scale, transform, nearest)
        if not np.array_equal(index, np.arange(size_out) // k) or not math.isfinite(scale):
            raise Unsupported(f"{where}: with {transform} and {nearest}, axis {axis} does not repeat each element "
                              f"{k} times")
        factors.append(k)
    if factors[0] != 1:
        raise Unsupported(f"{where}: it scales the channels ({factors[0]}x)")
    return factors[1:]
