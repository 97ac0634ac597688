"""Resizing the last two dims: upsample_nearest_neighbor, upsample_bilinear, resize_bilinear,
resize_nearest_neighbor, each sampling where MIL's definition says its grid points lie."""

from __future__ import annotations

import math

import numpy as np

from stages.coreml.mil.ops.registry import handles


def _declared(c, x, scale_h: float, scale_w: float) -> tuple[int, int]:
    declared = c.out_shapes[0] if c.out_shapes else None
    if declared is not None:
        return int(declared[-2]), int(declared[-1])
    return int(math.floor(x.shape[-2] * scale_h)), int(math.floor(x.shape[-1] * scale_w))


def _linear(x: np.ndarray, axis: int, grid: np.ndarray) -> np.ndarray:
    """Linear interpolation of x along `axis` at the (clamped) fractional positions `grid`."""
    size = x.shape[axis]
    grid = np.clip(grid, 0, size - 1)
    low = np.floor(grid).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    weight = (grid - low).reshape([-1 if a == axis % x.ndim else 1 for a in range(x.ndim)])
    x = x.astype(np.float64)
    return np.take(x, low, axis=axis) * (1 - weight) + np.take(x, high, axis=axis) * weight


GRIDS = {  # sampling mode -> the input position of each output index i (n_in -> n_out)
    "STRICT_ALIGN_CORNERS": lambda n, m, i: i * ((n - 1) / (m - 1)) if m > 1 else i * 0.0,
    "ALIGN_CORNERS": lambda n, m, i: i * ((n - 1) / (m - 1)) if m > 1 else i * 0.0 + (n - 1) / 2,
    "DEFAULT": lambda n, m, i: i * ((n - n / m) / (m - 1)) if m > 1 else i * 0.0,
    "OFFSET_CORNERS": lambda n, m, i: 0.5 * (max(1, n - 1) / m) + i * (max(1, n - 1) / m),
    "UNALIGN_CORNERS": lambda n, m, i: i * (n / m) + 0.5 * (n / m) - 0.5,
    "ASYMMETRIC": lambda n, m, i: i * (n / m),
}


def _bilinear(x: np.ndarray, out_h: int, out_w: int, mode: str) -> np.ndarray:
    grid = GRIDS[mode]
    rows = _linear(x, -2, grid(x.shape[-2], out_h, np.arange(out_h, dtype=np.float64)))
    return _linear(rows, -1, grid(x.shape[-1], out_w, np.arange(out_w, dtype=np.float64))).astype(np.float32)


@handles("upsample_bilinear")
def upsample_bilinear(c):
    x = c["x"]
    out_h, out_w = _declared(c, x, c.float("scale_factor_height", 1.0), c.float("scale_factor_width", 1.0))
    align = c.bool("align_corners", True)
    half_pixel = c.bool("half_pixel_centers", not align)
    mode = "STRICT_ALIGN_CORNERS" if align else "UNALIGN_CORNERS" if half_pixel else "ASYMMETRIC"
    return _bilinear(x, out_h, out_w, mode)


@handles("resize_bilinear")
def resize_bilinear(c):
    x = c["x"]
    out_h, out_w = c.int("target_size_height", 1), c.int("target_size_width", 1)
    return _bilinear(x, out_h, out_w, c.get("sampling_mode", "DEFAULT"))


def _nearest(x: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    rows = np.floor(np.arange(out_h) * (x.shape[-2] / out_h)).astype(np.int64)
    cols = np.floor(np.arange(out_w) * (x.shape[-1] / out_w)).astype(np.int64)
    return np.take(np.take(x, np.minimum(rows, x.shape[-2] - 1), axis=-2), np.minimum(cols, x.shape[-1] - 1), axis=-1)


@handles("upsample_nearest_neighbor")
def upsample_nearest_neighbor(c):
    x = c["x"]
    out_h, out_w = _declared(c, x, c.float("scale_factor_height", 1.0), c.float("scale_factor_width", 1.0))
    return _nearest(x, out_h, out_w)


@handles("resize_nearest_neighbor")
def resize_nearest_neighbor(c):
    return _nearest(c["x"], c.int("target_size_height", 1), c.int("target_size_width", 1))
