"""Resize (and Upsample, its older form): nearest and linear, exactly as ONNX Runtime computes them.

For each resized axis the source positions are computed here, in float32 as ONNX Runtime does, from the
node's coordinate transformation and nearest rounding mode. Where F.interpolate picks the same source
pixels (nearest) or weights (linear), checked on that axis before it is chosen, the node becomes one
F.interpolate; otherwise it becomes index_select (and a weighted sum for linear) along each axis, with the
positions and weights as buffers: exact for every mode ONNX has, not only the ones torch shares.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from stages.onnx.emitter import Unsupported, attrs
from stages.torch.from_onnx.table import OPS, present, text

INTERPOLATE_LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}


def _out(node) -> str:
    return node.output[0]


def _source(mode: str, n_in: int, n_out: int, scale: np.float32) -> np.ndarray:
    """Where each output position lies in the input (float32, ONNX Runtime's formulas)."""
    x = np.arange(n_out, dtype=np.float32)
    half = np.float32(0.5)
    if mode == "half_pixel":
        return (x + half) / scale - half
    if mode == "asymmetric":
        return x / scale
    if mode == "pytorch_half_pixel":
        return (x + half) / scale - half if n_out > 1 else np.zeros(n_out, np.float32)
    if mode == "tf_half_pixel_for_nearest":
        return (x + half) / scale
    if mode == "align_corners":
        return x * np.float32(n_in - 1) / np.float32(n_out - 1) if n_out > 1 else np.zeros(n_out, np.float32)
    if mode == "half_pixel_symmetric":
        adjustment = np.float32(n_out) / (scale * np.float32(n_in))
        offset = np.float32(n_in) / np.float32(2) * (np.float32(1) - adjustment)
        return offset + (x + half) / scale - half
    raise ValueError(mode)


def _nearest(position: np.ndarray, rounding: str, n_in: int, downsampling: bool) -> np.ndarray:
    truncated = np.trunc(position)
    tie = position == truncated + np.float32(0.5)  # ONNX Runtime's test
    away = np.sign(position) * np.floor(np.abs(position) + np.float32(0.5))  # std::round
    if rounding == "round_prefer_floor":
        index = np.where(tie, np.floor(position), away)
    elif rounding == "round_prefer_ceil":
        index = np.where(tie, np.ceil(position), away)
    elif rounding == "floor":
        index = np.floor(position)
    elif rounding == "ceil":
        index = np.ceil(position)
    else:  # "simple", before opset 11: ceil when downsampling, else truncation
        index = np.ceil(position) if downsampling else truncated
    return np.clip(index, 0, n_in - 1).astype(np.int64)


def _linear(position: np.ndarray, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(low index, high index, low weight, high weight), clamped at the borders as ONNX Runtime does."""
    position = np.clip(position, np.float32(0), np.float32(n_in - 1))
    low = np.minimum(position.astype(np.int64), n_in - 1)
    high = np.minimum(low + 1, n_in - 1)
    to_low, to_high = np.abs(position - low).astype(np.float32), np.abs(position - high).astype(np.float32)
    same = low == high
    return low, high, np.where(same, np.float32(0.5), to_high), np.where(same, np.float32(0.5), to_low)


def _settings(g, node) -> tuple[str, str, str, list[float] | None, list | None, str | None]:
    """(mode, coordinate transformation, nearest rounding, scales, sizes, the sizes' tensor) for Resize and
    Upsample."""
    a = attrs(node)
    mode = text(a.get("mode", "nearest"))
    if node.op_type == "Upsample" or g.opset < 11:
        if "scales" in a:
            scales = [float(s) for s in a["scales"]]
        else:
            scales = [float(s) for s in np.asarray(g.constant(node.input[1], node, "scales")).reshape(-1)]
        return ("linear" if mode in ("linear", "bilinear") else mode), "asymmetric", "simple", scales, None, None
    for refused, default in (("antialias", 0), ("keep_aspect_ratio_policy", b"stretch")):
        if text(a.get(refused, default)) != text(default):
            raise Unsupported(f"Resize node {node.name!r}: {refused}={text(a[refused])}")
    transform = text(a.get("coordinate_transformation_mode", "half_pixel"))
    if transform == "tf_crop_and_resize":
        raise Unsupported(f"Resize node {node.name!r}: coordinate_transformation_mode tf_crop_and_resize")
    scales_name, sizes_name = present(node, 2), present(node, 3)
    scales = [float(s) for s in np.asarray(g.constant(scales_name, node, "scales")).reshape(-1)] if scales_name else []
    sizes = sizes_name and g.ints(sizes_name, node, "sizes")
    return (
        mode,
        transform,
        text(a.get("nearest_mode", "round_prefer_floor")),
        scales or None,
        sizes or None,
        sizes_name,
    )


@OPS.handles("Resize", "Upsample")
def resize(g, node):
    mode, transform, rounding, scales, sizes, sizes_name = _settings(g, node)
    if mode not in ("nearest", "linear"):
        raise Unsupported(f"{node.op_type} node {node.name!r}: mode {mode} (nearest and linear are converted)")
    name = node.input[0]
    rank = g.rank(name)
    axes = attrs(node).get("axes")
    axes = list(range(rank)) if axes is None else [int(x) + rank if x < 0 else int(x) for x in axes]
    plan = {}  # axis -> (input size, output size, float32 scale)
    for i, axis in enumerate(axes):
        if sizes is not None:
            n_out = sizes[i]
            if all(int(np.asarray(g.value(sizes_name, b)).reshape(-1)[i]) == g.shape(name, b)[axis] for b in g.batches):
                continue  # the input's own size (the batch too, as the graph computes it): nothing to do
            n_in = g.static_dims(name, [axis], node, "a resized dimension")[0]
            scale = np.float32(n_out) / np.float32(n_in)
        else:
            scale = np.float32(scales[i])
            if scale == 1:
                continue
            n_in = g.static_dims(name, [axis], node, "a resized dimension")[0]
            n_out = int(np.floor(np.float64(n_in) * np.float64(scale)))
        plan[axis] = (n_in, n_out, scale)
    x = g.tensor(name)
    if not plan:
        return x
    if mode == "linear" and not g.dtype(name).is_floating_point:
        raise Unsupported(f"{node.op_type} node {node.name!r}: linear resizing of {g.dtype(name)} values")
    picked = _interpolate(mode, transform, rounding, plan, rank, scales is not None)
    if picked is not None:
        return g.call(F.interpolate, x, **picked, name=_out(node))
    last = max(plan)
    for axis, (n_in, n_out, scale) in sorted(plan.items()):
        position = _source(transform, n_in, n_out, scale)
        where = f"{_out(node)}_axis{axis}"
        final = _out(node) if axis == last else None
        if mode == "nearest":
            index = _nearest(position, rounding, n_in, scale < 1)
            x = g.call(torch.index_select, x, axis, g.attribute(f"{where}_index", index, buffer=True), name=final)
            continue
        low, high, to_low, to_high = _linear(position, n_in)
        shape = [n_out] + [1] * (rank - 1 - axis)
        dtype = np.dtype(str(g.dtype(name)).replace("torch.", ""))
        parts = [
            g.call(
                torch.mul,
                g.call(torch.index_select, x, axis, g.attribute(f"{where}_{side}", index, True)),
                g.attribute(f"{where}_{side}_weight", weight.reshape(shape).astype(dtype), True),
            )
            for side, index, weight in (("low", low, to_low), ("high", high, to_high))
        ]
        x = g.call(torch.add, *parts, name=final)
    return x


def _interpolate(mode, transform, rounding, plan, rank, scaled: bool) -> dict | None:
    """F.interpolate's arguments where it computes what ONNX asks on every resized axis, else None."""
    if rank not in INTERPOLATE_LINEAR or any(axis < 2 for axis in plan):
        return None
    spatial = range(2, rank)
    full = {axis: plan.get(axis) for axis in spatial}
    candidates = [{"size": tuple(p[1] if p else None for p in full.values())}]
    if scaled:
        candidates.append(
            {"scale_factor": tuple(float(p[2]) if p else 1.0 for p in full.values()), "recompute_scale_factor": False}
        )
    if any(p is None for p in full.values()):
        candidates = candidates[1:]  # size= needs every spatial axis; an unresized one has scale 1
    modes = (
        [{"mode": "nearest"}, {"mode": "nearest-exact"}]
        if mode == "nearest"
        else [{"mode": INTERPOLATE_LINEAR[rank], "align_corners": corners} for corners in (False, True)]
    )
    for candidate in candidates:
        for how in modes:
            if all(
                _same_on_axis(mode, transform, rounding, plan[axis], how, candidate, list(spatial).index(axis))
                for axis in plan
            ):
                return {**candidate, **how}
    return None


def _same_on_axis(mode, transform, rounding, plan, how, candidate, position) -> bool:
    """Whether F.interpolate, on one axis alone, picks what ONNX Runtime would."""
    n_in, n_out, scale = plan
    one_d = {key: (value[position],) if isinstance(value, tuple) else value for key, value in candidate.items()}
    one_d = {**one_d, **{k: v for k, v in how.items() if k != "mode"}}
    torch_mode = how["mode"] if mode == "nearest" else "linear"
    source = _source(transform, n_in, n_out, scale)
    if mode == "nearest":
        ramp = torch.arange(n_in, dtype=torch.float64).view(1, 1, n_in)
        picked = F.interpolate(ramp, mode=torch_mode, **one_d).view(-1).round().long().numpy()
        return picked.shape == (n_out,) and np.array_equal(picked, _nearest(source, rounding, n_in, scale < 1))
    values = np.random.default_rng(0).standard_normal(n_in).astype(np.float32)
    got = F.interpolate(torch.from_numpy(values).view(1, 1, n_in), mode=torch_mode, **one_d).view(-1).numpy()
    low, high, to_low, to_high = _linear(source, n_in)
    want = values[low] * to_low + values[high] * to_high
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=1e-5, atol=1e-5))
