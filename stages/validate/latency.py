"""How fast an artifact runs on this CPU, in its own runtime, and how much memory its process took.

One sample's run (batch 1), timed after one warm-up run, on the cores the validate stage was pinned to (its
framework's threads sized to match), `runs` times or until BUDGET_S has gone, at least MIN_RUNS; the median
and p90 in milliseconds. Peak memory: the stage process's resident high-water mark (VmHWM, reset when the
stage starts), so the framework, the model and its runs, as a deployment's process would hold them. A
runtime in a process of its own (a TFJS model in Node.js) times its runs and says its own peak (`record`).
"""

from __future__ import annotations

import os
import statistics
import time
from contextvars import ContextVar
from typing import Callable

BUDGET_S = 1.0
MIN_RUNS = 3

_wanted: ContextVar[int] = ContextVar("latency_runs", default=0)
_measured: ContextVar[dict | None] = ContextVar("latency", default=None)


def want(runs: int) -> None:
    """The validate stage asks for `runs` timed runs (0: none)."""
    _wanted.set(max(0, int(runs)))
    _measured.set(None)
    _reset_peak_memory()


def wanted() -> int:
    return _wanted.get()


def measure(call: Callable[[], object]) -> None:
    """Time `call` (one sample through the loaded artifact) as the stage asked."""
    runs = wanted()
    if not runs:
        return
    call()  # warm-up: first-run allocations, lazy delegate set-up
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < runs and (len(times) < MIN_RUNS or time.perf_counter() - started < BUDGET_S):
        begun = time.perf_counter()
        call()
        times.append((time.perf_counter() - begun) * 1e3)
    record(times, len(os.sched_getaffinity(0)))


def asked() -> dict | None:
    """What the stage asked, for a runtime that times the runs itself (Node.js: stages/tfjs/run.js)."""
    runs = wanted()
    return {"runs": runs, "min_runs": MIN_RUNS, "budget_ms": BUDGET_S * 1e3} if runs else None


def record(times_ms: list[float], threads: int, peak_rss_mb: float | None = None) -> None:
    """The runs' times in milliseconds; `peak_rss_mb` where another process than the stage's ran them."""
    times = sorted(times_ms)
    if not times:
        return
    _measured.set(
        {
            "runs": len(times),
            "median_ms": round(statistics.median(times), 3),
            "p90_ms": round(times[min(len(times) - 1, int(0.9 * len(times)))], 3),
            "threads": threads,
            **({"peak_rss_mb": peak_rss_mb} if peak_rss_mb is not None else {}),
        }
    )


def result(skipped: str | None = None) -> dict | None:
    """What was measured, with the peak memory; None when nothing was asked."""
    if not wanted():
        return None
    if skipped:
        return {"skipped": skipped, "peak_rss_mb": _peak_rss_mb()}
    measured = _measured.get() or {"skipped": "the runner ran no sample through the artifact"}
    return {"peak_rss_mb": _peak_rss_mb(), **measured}


def _reset_peak_memory() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current resident size (Linux 4.0+)
    except OSError:
        pass


def _peak_rss_mb() -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None
