"""The comparator: parity of a target's outputs against the source's golden outputs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Gates:
    """Default gates (DESIGN.md); precision names the one that applies."""
    fp32_max_abs: float = 1e-4      # times max(1, max|golden|)
    fp16_cosine: float = 0.999
    int8_cosine: float = 0.99

    def check(self, precision: str, metrics: dict, golden: np.ndarray) -> tuple[bool, str]:
        if precision == "fp32":
            limit = self.fp32_max_abs * max(1.0, float(np.max(np.abs(golden))))
            return metrics["max_abs_err"] <= limit, f"max_abs_err <= {limit:.3g}"
        threshold = self.fp16_cosine if precision == "fp16" else self.int8_cosine
        return metrics["cosine"] >= threshold, f"cosine >= {threshold}"


def compare(golden: np.ndarray, actual: np.ndarray) -> dict:
    golden = golden.astype(np.float64)
    actual = actual.astype(np.float64)
    if golden.shape != actual.shape:
        return {"max_abs_err": float("inf"), "max_rel_err": float("inf"), "cosine": 0.0,
                "shape_mismatch": [list(golden.shape), list(actual.shape)]}
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
        metrics.update(max_abs_err=float("inf"), cosine=0.0, non_finite=True)
    return metrics
