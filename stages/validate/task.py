"""Agreement on the task the user names (`--task`), beside the elementwise gate, per output:

- classify: top-1 agreement (the artifact's top class is the source's) and top-5 agreement (the source's top
  class is among the artifact's five); with labels (`--labels`), the source's accuracy and the artifact's;
- embed: the cosine between the source's and the artifact's embedding of each sample (min, median, mean);
- segment: per sample, the intersection over union of the two masks (argmax over the class axis, or the
  one channel above its threshold), averaged over the classes either mask has; min and mean over samples.

Outputs are in the source's layout (batch first, channels first). An output the task does not fit (a
classifier's is [samples, classes]) says why instead.
"""
from __future__ import annotations

import numpy as np

TASKS = ("classify", "embed", "segment")


def agreement(task: str, golden: np.ndarray, actual: np.ndarray, samples: int,
              labels: list[int] | None = None) -> dict:
    if golden.shape != actual.shape:
        return {"why": f"shapes differ ({list(golden.shape)}, {list(actual.shape)})"}
    return MEASURES[task](golden.astype(np.float64), actual.astype(np.float64), samples, labels)


def _per_sample(x: np.ndarray, samples: int) -> np.ndarray | None:
    """[samples, …] flattened per sample, or None where the output does not hold one row per sample."""
    if x.ndim == 0 or x.shape[0] % samples:
        return None
    return x.reshape(samples, -1)


def classify(golden: np.ndarray, actual: np.ndarray, samples: int, labels: list[int] | None) -> dict:
    if golden.ndim != 2 or golden.shape[1] < 2 or golden.shape[0] != samples:
        return {"why": f"a classifier's output is [samples, classes]; this one is {list(golden.shape)}"}
    top = actual.argsort(axis=1)[:, ::-1]
    source_top1 = golden.argmax(axis=1)
    found = {"top1_agreement": float((top[:, 0] == source_top1).mean()),
             "top5_agreement": float(np.mean([s in row[:5] for s, row in zip(source_top1, top)])),
             "samples": samples}
    if labels is not None:
        truth = np.asarray(labels[:samples])
        if truth.size != samples:
            return {**found, "why_no_accuracy": f"{truth.size} labels for {samples} samples"}
        found.update(source_accuracy=float((source_top1 == truth).mean()),
                     artifact_accuracy=float((top[:, 0] == truth).mean()))
    return found


def embed(golden: np.ndarray, actual: np.ndarray, samples: int, labels: list[int] | None) -> dict:
    want, got = _per_sample(golden, samples), _per_sample(actual, samples)
    if want is None:
        return {"why": f"an embedding holds one row per sample; this output is {list(golden.shape)}"}
    norms = np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1)
    cosines = np.where(norms > 0, (want * got).sum(axis=1) / np.where(norms > 0, norms, 1), 1.0)
    return {"cosine_min": float(cosines.min()), "cosine_median": float(np.median(cosines)),
            "cosine_mean": float(cosines.mean()), "samples": samples}


def _masks(x: np.ndarray) -> np.ndarray:
    """[samples, C, H, W] scores as class masks [samples, H, W]: argmax over C, or C == 1 above 0.5 for
    probabilities (values in [0, 1]) and above 0 for logits."""
    if x.shape[1] > 1:
        return x.argmax(axis=1)
    threshold = 0.5 if x.min() >= 0 and x.max() <= 1 else 0.0
    return (x[:, 0] > threshold).astype(np.int64)


def segment(golden: np.ndarray, actual: np.ndarray, samples: int, labels: list[int] | None) -> dict:
    if golden.ndim != 4 or golden.shape[0] != samples:
        return {"why": f"a segmentation output is [samples, classes, height, width]; this one is {list(golden.shape)}"}
    want, got = _masks(golden), _masks(actual)
    ious = []
    for w, g in zip(want, got):
        classes = np.union1d(np.unique(w), np.unique(g))
        per_class = [np.logical_and(w == c, g == c).sum() / np.logical_or(w == c, g == c).sum() for c in classes]
        ious.append(float(np.mean(per_class)))
    return {"mask_iou_min": min(ious), "mask_iou_mean": float(np.mean(ious)), "samples": samples}


MEASURES = {"classify": classify, "embed": embed, "segment": segment}
