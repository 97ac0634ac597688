"""The comparator: parity of a target's outputs against the source's golden outputs."""

from __future__ import annotations

import numpy as np

# An error that could not be measured (shapes differ, non-finite outputs): larger than any gate,
# and still strict JSON (json.dumps writes float("inf") as Infinity, which JSON does not have).
INF = 1e300


def compare(golden: np.ndarray, actual: np.ndarray) -> dict:
    golden = golden.astype(np.float64)
    actual = actual.astype(np.float64)
    if golden.shape != actual.shape:
        return {
            "max_abs_err": INF,
            "max_rel_err": INF,
            "cosine": 0.0,
            "shape_mismatch": [list(golden.shape), list(actual.shape)],
        }
    if golden.size == 0:  # an empty output (a zero-size dimension): equal when both are empty
        return {"max_abs_err": 0.0, "max_rel_err": 0.0, "cosine": 1.0}
    special = ~np.isfinite(golden)
    if special.any():  # the source's own inf/nan (log of 0, a mask): the target must have exactly them there
        same = np.where(np.isnan(golden[special]), np.isnan(actual[special]), golden[special] == actual[special])
        if not same.all():
            return {"max_abs_err": INF, "max_rel_err": INF, "cosine": 0.0, "non_finite": True}
        if special.all():
            return {"max_abs_err": 0.0, "max_rel_err": 0.0, "cosine": 1.0}
        golden, actual = golden[~special], actual[~special]
    diff = np.abs(golden - actual)
    norms = np.linalg.norm(golden) * np.linalg.norm(actual)
    if norms:
        cosine = float(np.dot(golden.ravel(), actual.ravel()) / norms)
    else:  # an all-zero output: alike only if both are zero
        cosine = float(not golden.any() and not actual.any())
    metrics = {
        "max_abs_err": float(diff.max()),
        "max_rel_err": float((diff / np.maximum(np.abs(golden), 1e-6)).max()),
        "cosine": cosine,
    }
    if golden.ndim == 2 and golden.shape[1] > 1:  # classifier-like: report top-1 agreement
        metrics["top1_agreement"] = float((golden.argmax(1) == actual.argmax(1)).mean())
    if not np.all(np.isfinite(actual)):
        metrics.update(max_abs_err=INF, max_rel_err=INF, cosine=0.0, non_finite=True)
    return metrics
