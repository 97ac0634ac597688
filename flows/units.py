"""An artifact's size and latency as the CLI, report.html and Prefect's artifact print them."""
from __future__ import annotations


def latency_text(latency: dict | None) -> str:
    """`3.2 ms (p90 3.5)`, `–` where not measured."""
    if not latency or "median_ms" not in latency:
        return "–"
    return f"{latency['median_ms']:.3g} ms (p90 {latency['p90_ms']:.3g})"


def size_text(size: int | None) -> str:
    if size is None:
        return "–"
    return f"{size / 1e6:.3g} MB" if size >= 1e5 else f"{size / 1e3:.3g} kB"
