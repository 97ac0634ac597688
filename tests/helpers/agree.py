"""Test helper: whether an emitter's outputs agree with what ONNX says a case computes. numpy only and Python
3.9, so that every case runner imports it in its emitter's runtime (the caffe image's too)."""

from __future__ import annotations

import numpy as np


def differs(names: list, expected: list, got: list) -> str | None:
    """Where `got` differs from `expected` (both in the order of `names`) by more than 1e-5 x max(1, |output|)
    (NaN where NaN), or None."""
    if len(got) != len(expected):
        return f"{len(got)} outputs, not {len(expected)}"
    for output, want, have in zip(names, expected, got):  # lengths checked above (3.9 has no strict=)
        want = np.asarray(want).astype(np.float64)
        have = np.asarray(have).astype(np.float64)
        if have.shape != want.shape:
            return f"{output}: shape {list(have.shape)}, not {list(want.shape)}"
        finite = np.isfinite(want)
        err = float(np.max(np.abs(have[finite] - want[finite]), initial=0.0))
        if err > 1e-5 * max(1.0, float(np.max(np.abs(want[finite]), initial=0.0))) or not np.array_equal(
            np.isnan(have), np.isnan(want)
        ):
            return f"{output}: max abs err {err:.3g}"
    return None
