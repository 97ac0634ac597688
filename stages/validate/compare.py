"""The comparator: parity of a target's outputs against the source's golden outputs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# An error that could not be measured (shapes differ, non-finite outputs): larger than any gate,
# and still strict JSON (json.dumps writes float("inf") as Infinity, which JSON does not have).
INF = 1e300


FLOOR_MULTIPLE = 10.0   # fp32 may differ by this many times the source's own float32 noise floor


@dataclass(frozen=True)
class Gates:
    """Default gates (DESIGN.md); precision names the one that applies.

    fp32: max abs error <= fp32_max_abs x max(1, max|golden|), or FLOOR_MULTIPLE x the source's
    noise floor (how far its own outputs move when the inputs move by one float32 ulp), whichever
    is larger: no gate should ask more than float32 itself can give.
    fp16, int8, dynamic: cosine >= the gate, or a max abs error within a small fraction of the
    output's scale (a cosine is meaningless on outputs that are ~0 everywhere).
    """
    fp32_max_abs: float = 1e-4      # times max(1, max|golden|)
    fp16_cosine: float = 0.999
    int8_cosine: float = 0.99
    fp16_max_abs: float = 1e-3      # times max(1, max|golden|)
    int8_max_abs: float = 1e-2      # times max(1, max|golden|)

    def check(self, precision: str, metrics: dict, golden: np.ndarray, floor: float = 0.0) -> tuple[bool, str]:
        scale = max(1.0, float(np.max(np.abs(golden)))) if golden.size else 1.0
        if precision == "fp32":
            limit = max(self.fp32_max_abs * scale, FLOOR_MULTIPLE * floor)
            return metrics["max_abs_err"] <= limit, f"max_abs_err <= {limit:.3g}"
        threshold = self.fp16_cosine if precision == "fp16" else self.int8_cosine
        absolute = (self.fp16_max_abs if precision == "fp16" else self.int8_max_abs) * scale
        passed = metrics["cosine"] >= threshold or metrics["max_abs_err"] <= absolute
        return passed, f"cosine >= {threshold} or max_abs_err <= {absolute:.3g}"


def compare(golden: np.ndarray, actual: np.ndarray) -> dict:
    golden = golden.astype(np.float64)
    actual = actual.astype(np.float64)
    if golden.shape != actual.shape:
        return {"max_abs_err": INF, "max_rel_err": INF, "cosine": 0.0,
                "shape_mismatch": [list(golden.shape), list(actual.shape)]}
    if golden.size == 0:  # an empty output (a zero-size dimension): equal when both are empty
        return {"max_abs_err": 0.0, "max_rel_err": 0.0, "cosine": 1.0}
    special = ~np.isfinite(golden)
    if special.any():   # the source's own inf/nan (log of 0, a mask): the target must have exactly them there
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
