"""The gates a target's outputs must pass against the source's golden outputs (numpy only when checked:
the orchestrator reads the defaults without it)."""

from __future__ import annotations

from dataclasses import dataclass

FLOOR_MULTIPLE = 10.0  # fp32 may differ by this many times the source's own float32 noise floor


@dataclass(frozen=True)
class Gates:
    """Default gates (DESIGN.md); precision names the one that applies.

    fp32: max abs error <= fp32_max_abs x max(1, max|golden|), or FLOOR_MULTIPLE x the source's
    noise floor (how far its own outputs move when the inputs move by one float32 ulp), whichever
    is larger: no gate should ask more than float32 itself can give.
    fp16, int8, dynamic: cosine >= the gate, or a max abs error within a small fraction of the
    output's scale (a cosine is meaningless on outputs that are ~0 everywhere).
    """

    fp32_max_abs: float = 1e-4  # times max(1, max|golden|)
    fp16_cosine: float = 0.999
    int8_cosine: float = 0.99
    fp16_max_abs: float = 1e-3  # times max(1, max|golden|)
    int8_max_abs: float = 1e-2  # times max(1, max|golden|)

    def check(self, precision: str, metrics: dict, golden, floor: float = 0.0) -> tuple[bool, str]:
        import numpy as np

        scale = max(1.0, float(np.max(np.abs(golden)))) if golden.size else 1.0
        if precision == "fp32":
            limit = max(self.fp32_max_abs * scale, FLOOR_MULTIPLE * floor)
            return metrics["max_abs_err"] <= limit, f"max_abs_err <= {limit:.3g}"
        threshold = self.fp16_cosine if precision == "fp16" else self.int8_cosine
        absolute = (self.fp16_max_abs if precision == "fp16" else self.int8_max_abs) * scale
        passed = metrics["cosine"] >= threshold or metrics["max_abs_err"] <= absolute
        return passed, f"cosine >= {threshold} or max_abs_err <= {absolute:.3g}"
