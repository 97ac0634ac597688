"""ONNX's Resize, decided exactly for the frameworks' fixed forms.

Nearest: the source index of every output index as ONNX's spec computes it (coordinate transformation,
then nearest_mode, then the clamp), compared with a plain integer upsampling (output i takes input i // k).
Where they agree on every axis, an emitter may write the Resize as its framework's integer upsampling
(MXNet's UpSampling, a Caffe Deconvolution of ones).

Linear: the coordinate transformations that are PyTorch's (half_pixel where no output axis has size 1,
pytorch_half_pixel, align_corners), which MXNet's BilinearResize2D computes (tests/helpers/check_resize.py
holds it to ONNX's reference)."""

from __future__ import annotations

import math

import numpy as np

from stages.onnx.emitter import Unsupported, attrs


def source_coordinate(i: np.ndarray, size_in: int, size_out: int, scale: float, transform: str) -> np.ndarray:
    """ONNX Resize: the input coordinate of each output index `i` along one axis, before rounding (nearest)
    or interpolation (linear)."""
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
    return x


def source_index(i: np.ndarray, size_in: int, size_out: int, scale: float, transform: str, mode: str) -> np.ndarray:
    """ONNX Resize (nearest): the input index each output index `i` reads along one axis."""
    x = source_coordinate(i, size_in, size_out, scale, transform)
    if mode == "floor":
        index = np.floor(x)
    elif mode == "ceil":
        index = np.ceil(x)
    elif mode == "round_prefer_ceil":
        index = np.floor(x + 0.5)
    else:  # round_prefer_floor, ONNX's default
        index = np.ceil(x - 0.5)
    return np.clip(index, 0, size_in - 1).astype(np.int64)


def _modes(node) -> tuple[str, str, str, dict]:
    a = attrs(node)

    def decode(value):
        return value.decode() if isinstance(value, bytes) else value

    legacy = len(node.input) <= 2  # Upsample and opset 10's Resize (X, scales): floor(i / scale)
    return (
        decode(a.get("mode", "nearest")),
        decode(a.get("coordinate_transformation_mode", "asymmetric" if legacy else "half_pixel")),
        decode(a.get("nearest_mode", "floor" if legacy else "round_prefer_floor")),
        a,
    )


def _scales(node, a: dict, constants: dict) -> np.ndarray | None:
    """The scales a Resize (or Upsample) was given, where they are constants."""
    name = node.input[1] if len(node.input) == 2 else (node.input[2] if len(node.input) > 2 else "")
    if name:
        return constants.get(name) if name in constants and constants[name].size else None
    return np.asarray(a["scales"]) if "scales" in a else None


def _plain(node, a: dict, transform: str, shape_in, shape_out, what: str) -> None:
    where = f"{node.op_type} node {node.name!r}"
    if (
        transform == "tf_crop_and_resize"
        or a.get("antialias")
        or a.get("axes") is not None
        or a.get("keep_aspect_ratio_policy", b"stretch") not in (b"stretch", "stretch")
    ):
        raise Unsupported(f"{where}: {transform}, antialias, axes or an aspect policy; {what} has plain resizing only")
    if (
        not shape_in
        or not shape_out
        or len(shape_in) != 4
        or len(shape_out) != 4
        or not all(isinstance(d, int) for d in (*shape_in[1:], *shape_out[1:]))
    ):
        raise Unsupported(f"{where}: its input or output is not a 4-d tensor of static shape")
    if shape_in[1] != shape_out[1]:
        raise Unsupported(f"{where}: it resizes the channels")


def bilinear(node, shape_in: list, shape_out: list, constants: dict, what: str) -> bool:
    """align_corners, for a linear Resize of a 4-d tensor's last two axes that PyTorch's bilinear resize
    (MXNet's BilinearResize2D) computes exactly; Unsupported naming why otherwise. PyTorch's scale is
    input / output size: given scales must be exactly output / input."""
    mode, transform, _, a = _modes(node)
    _plain(node, a, transform, shape_in, shape_out, what)
    where = f"{node.op_type} node {node.name!r}"
    given = _scales(node, a, constants)
    if (
        given is not None
        and given.size == 4
        and any(abs(float(given[axis]) - shape_out[axis] / shape_in[axis]) > 1e-6 for axis in (2, 3))
    ):
        raise Unsupported(f"{where}: scales {given.tolist()} are not the output's sizes over the input's")
    if mode != "linear":
        raise Unsupported(f"{where}: mode {mode}; {what} has bilinear and integer nearest resizing only")
    if transform == "half_pixel" and 1 in shape_out[2:]:
        transform = "an output of size 1 with half_pixel"
    if transform not in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        raise Unsupported(
            f"{where}: linear with {transform}; {what}'s bilinear resize takes half_pixel or align_corners coordinates"
        )
    return transform == "align_corners"


def nearest_factors(node, shape_in: list, shape_out: list, constants: dict, what: str) -> list[int]:
    """[kh, kw]: the integer factors (of a 4-d NCHW tensor's last two axes) by which this nearest Resize
    repeats each element, or Unsupported naming why it is not one (another mode, a crop (roi), sizes that
    are no multiple, an index map that differs from i // k anywhere)."""
    where, transform, nearest, given = _resizing(node, "nearest", shape_in, shape_out, constants, what)
    factors = []
    for axis, (size_in, size_out) in enumerate(zip(shape_in, shape_out, strict=True)):
        if axis == 0:
            continue
        if size_out % size_in:
            raise Unsupported(f"{where}: axis {axis} goes from {size_in} to {size_out}, no integer multiple")
        k = size_out // size_in
        scale = float(given[axis]) if given is not None and given.size == len(shape_in) else size_out / size_in
        index = source_index(np.arange(size_out), size_in, size_out, scale, transform, nearest)
        if not np.array_equal(index, np.arange(size_out) // k) or not math.isfinite(scale):
            raise Unsupported(
                f"{where}: with {transform} and {nearest}, axis {axis} does not repeat each element {k} times"
            )
        factors.append(k)
    if factors[0] != 1:
        raise Unsupported(f"{where}: it scales the channels ({factors[0]}x)")
    return factors[1:]


def linear_kernels(
    node, shape_in: list, shape_out: list, constants: dict, what: str
) -> list[tuple[int, np.ndarray, int]]:
    """A linear Resize of a 4-d tensor's last two axes by integer factors, as a transposed convolution of
    its input padded by one edge element on each side: per axis (stride = the factor, the kernel's taps,
    the offset at which the output starts in the convolution's). The kernel is read off ONNX's own
    interpolation weights and the result checked against them for every output index: a transform whose
    weights are not one kernel shifted by the stride (align_corners) is Unsupported."""
    where, transform, _, given = _resizing(node, "linear", shape_in, shape_out, constants, what)
    kernels = []
    for axis, size_in, size_out, factor, scale in _factors(where, given, shape_in, shape_out, up=True):
        x = source_coordinate(np.arange(size_out), size_in, size_out, scale, transform)
        padded = _interpolation(x + 1, size_in + 2)  # on the input with one edge element more on each side
        rows, cols = np.nonzero(padded)
        shifts = rows - factor * cols
        low = int(shifts.min())
        kernel = np.zeros(int(shifts.max()) - low + 1)
        kernel[shifts - low] = padded[rows, cols]
        rebuilt = np.zeros(((size_in + 1) * factor + kernel.size, size_in + 2))  # the convolution's matrix
        for col in range(size_in + 2):
            rebuilt[col * factor : col * factor + kernel.size, col] = kernel
        rebuilt = rebuilt[-low : -low + size_out]
        edged = rebuilt[:, 1:-1].copy()  # the pad elements are copies of the edges
        edged[:, 0] += rebuilt[:, 0]
        edged[:, -1] += rebuilt[:, -1]
        if rebuilt.shape[0] != size_out or not np.allclose(edged, _interpolation(x, size_in), rtol=0, atol=1e-12):
            raise Unsupported(
                f"{where}: linear with {transform} on axis {axis} is no one kernel shifted by the "
                f"factor; {what} resizes by a transposed convolution"
            )
        kernels.append((factor, kernel, -low))
    return kernels


def linear_strides(node, shape_in: list, shape_out: list, constants: dict, what: str) -> list[tuple[int, np.ndarray]]:
    """A linear Resize of a 4-d tensor's last two axes down by integer factors, as a strided convolution of
    its input: per axis (stride = the factor, the kernel's taps). Every output's coordinate lies inside the
    input (no edge to clamp); the kernel is read off ONNX's interpolation weights and checked against them
    for every output index."""
    where, transform, _, given = _resizing(node, "linear", shape_in, shape_out, constants, what)
    kernels = []
    for axis, size_in, size_out, factor, scale in _factors(where, given, shape_in, shape_out, up=False):
        x = source_coordinate(np.arange(size_out), size_in, size_out, scale, transform)
        weights = _interpolation(x, size_in)
        rows, cols = np.nonzero(weights)
        shifts = cols - factor * rows
        kernel = np.zeros(int(shifts.max()) + 1) if shifts.min() >= 0 else None
        if kernel is not None:
            kernel[shifts] = weights[rows, cols]
            rebuilt = np.zeros_like(weights)
            for row in range(size_out):
                span = weights[row, factor * row : factor * row + kernel.size]
                rebuilt[row, factor * row : factor * row + span.size] = kernel[: span.size]
        if (
            kernel is None
            or (size_in - kernel.size) // factor + 1 != size_out
            or not np.allclose(rebuilt, weights, rtol=0, atol=1e-12)
        ):
            raise Unsupported(
                f"{where}: linear with {transform} on axis {axis} is no one kernel strided by the "
                f"factor; {what} resizes by a convolution"
            )
        kernels.append((factor, kernel))
    return kernels


def _factors(where: str, given, shape_in: list, shape_out: list, up: bool):
    """(axis, size in, size out, integer factor, scale) for the last two axes of a resize up (or down) by
    integer factors; Unsupported where an axis is no multiple (or fraction)."""
    for axis in (2, 3):
        size_in, size_out = shape_in[axis], shape_out[axis]
        big, small = (size_out, size_in) if up else (size_in, size_out)
        if big % small:
            raise Unsupported(
                f"{where}: axis {axis} goes from {size_in} to {size_out}, no integer {'multiple' if up else 'fraction'}"
            )
        factor = big // small
        scale = float(given[axis]) if given is not None and given.size == 4 else (factor if up else 1 / factor)
        yield axis, size_in, size_out, factor, float(scale)


def _resizing(node, mode: str, shape_in: list, shape_out: list, constants: dict, what: str) -> tuple:
    """(where, coordinate transform, nearest mode, the given scales) of a plain Resize in `mode`; else
    Unsupported naming why."""
    found, transform, nearest, a = _modes(node)
    where = f"{node.op_type} node {node.name!r}"
    if found != mode:
        raise Unsupported(f"{where}: mode {found}; {what} takes {mode} resizing by integer factors here")
    _plain(node, a, transform, shape_in, shape_out, what)
    return where, transform, nearest, _scales(node, a, constants)


def _interpolation(x: np.ndarray, size_in: int) -> np.ndarray:
    """ONNX's linear Resize along one axis as a matrix (output x input), from each output's coordinate `x`:
    clamped to the input, each output the two neighbours' weighted sum."""
    x = np.clip(x, 0, size_in - 1)
    low = np.floor(x).astype(np.int64)
    high = np.minimum(low + 1, size_in - 1)
    matrix = np.zeros((x.size, size_in))
    np.add.at(matrix, (np.arange(x.size), low), 1 - (x - low))
    np.add.at(matrix, (np.arange(x.size), high), x - low)
    return matrix
