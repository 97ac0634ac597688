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


# A task's measures as the report and the CLI name them (stages/validate/task.py), in this order.
TASK_MEASURES = (
    ("top1_agreement", "top-1"),
    ("top5_agreement", "top-5"),
    ("artifact_accuracy", "accuracy"),
    ("source_accuracy", "source's accuracy"),
    ("cosine_min", "cosine min"),
    ("cosine_median", "cosine median"),
    ("mask_iou_mean", "mask IoU mean"),
    ("mask_iou_min", "mask IoU min"),
    ("foreground", "source foreground"),
    ("boxes", "source boxes"),
    ("boxes_matched", "matched"),
    ("score_delta_max", "score delta max"),
)


def task_text(task: dict | None) -> str:
    """`classify, prob: top-1 0.875, top-5 1, …` per output, or why an output does not fit the task."""
    if not task:
        return "–"
    parts = []
    for name, measured in task.get("outputs", {}).items():
        said = [f"{label} {measured[key]:.3g}" for key, label in TASK_MEASURES if measured.get(key) is not None]
        parts.append(f"{name}: {', '.join(said) if said else measured.get('why', '')}")
    return f"{task['task']}: " + "; ".join(parts)
