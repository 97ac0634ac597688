"""What report.html plots of one output: some of its values, the artifact's against the source's, and how its
errors are spread (how many fall in each decade of absolute error)."""

from __future__ import annotations

import numpy as np

POINTS = 200  # values kept for the plot, evenly spaced over the output
DECADES = tuple(range(-9, 2))  # the error bins' upper edges: 1e-9 … 1e1 (and 0 below, more above)


def distribution(golden: np.ndarray, actual: np.ndarray) -> dict | None:
    """{"points": [[source, artifact], …], "error_counts": [zero, ≤1e-9, …, ≤1e1, more], "decades": [...]},
    or None where the two cannot be laid side by side (shapes differ, nothing finite)."""
    if golden.shape != actual.shape or golden.size == 0:
        return None
    want, got = golden.astype(np.float64).ravel(), actual.astype(np.float64).ravel()
    finite = np.isfinite(want) & np.isfinite(got)
    if not finite.any():
        return None
    want, got = want[finite], got[finite]
    picked = np.unique(np.linspace(0, want.size - 1, min(POINTS, want.size)).astype(int))
    error = np.abs(want - got)
    edges = np.array([10.0**d for d in DECADES])
    counts = [int((error == 0).sum())]
    counts += [int(((error > (edges[i - 1] if i else 0)) & (error <= edges[i])).sum()) for i in range(len(edges))]
    counts.append(int((error > edges[-1]).sum()))
    return {
        "points": [[float(f"{w:.5g}"), float(f"{g:.5g}")] for w, g in zip(want[picked], got[picked])],
        "error_counts": counts,
        "decades": list(DECADES),
    }
