"""Agreement on the task the user names (`--task`), beside the elementwise gate, per output:

- classify: top-1 agreement (the artifact's top class is the source's) and top-5 agreement (the source's top
  class is among the artifact's five); with labels (`--labels`), the source's accuracy and the artifact's;
- embed: the cosine between the source's and the artifact's embedding of each sample (min, median, mean);
- segment: per sample, the intersection over union of the two masks (argmax over the class axis, or the
  one channel above its threshold), averaged over the classes either mask has; min and mean over samples,
  and the share of the source's pixels not in class 0 (masks all background say nothing, and say so);
- detect: a YOLO-style decoded output [samples, boxes, 5 + classes] (cx, cy, w, h, objectness, class
  scores; YOLOX, YOLOv5): the source's boxes scoring at least SCORE (objectness × best class), each matched
  to the artifact's box of the highest IoU not matched yet; the share matched at IoU ≥ 0.5 and their score
  deltas. Raw boxes, before any NMS the application runs.

Outputs come batch first and channels first: one in a channels-last layout of the source (a TFLite or
TFJS mask [N, H, W, C]) is turned so first. An output the task does not fit (a classifier's is
[samples, classes]) says why instead.
"""

from __future__ import annotations

import numpy as np

SCORE, IOU = 0.25, 0.5  # detect: the source's boxes counted, and the overlap that matches one


def agreement(task: str, golden: np.ndarray, actual: np.ndarray, samples: int, labels: list[int] | None = None) -> dict:
    if golden.shape != actual.shape:
        return {"why": f"shapes differ ({list(golden.shape)}, {list(actual.shape)})"}
    return MEASURES[task](golden.astype(np.float64), actual.astype(np.float64), samples, labels)


def channels_first(x: np.ndarray, layout: str | None) -> np.ndarray:
    """An output in its source layout (NHWC, NWC, NCHW, …, or None: as it is) with its channels second."""
    if not layout or "C" not in layout or len(layout) != x.ndim or layout.index("C") == 1:
        return x
    return np.moveaxis(x, layout.index("C"), 1)


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
    found = {
        "top1_agreement": float((top[:, 0] == source_top1).mean()),
        "top5_agreement": float(np.mean([s in row[:5] for s, row in zip(source_top1, top)])),
        "samples": samples,
    }
    if labels is not None:
        truth = np.asarray(labels[:samples])
        if truth.size != samples:
            return {**found, "why_no_accuracy": f"{truth.size} labels for {samples} samples"}
        found.update(
            source_accuracy=float((source_top1 == truth).mean()), artifact_accuracy=float((top[:, 0] == truth).mean())
        )
    return found


def embed(golden: np.ndarray, actual: np.ndarray, samples: int, labels: list[int] | None) -> dict:
    want, got = _per_sample(golden, samples), _per_sample(actual, samples)
    if want is None:
        return {"why": f"an embedding holds one row per sample; this output is {list(golden.shape)}"}
    norms = np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1)
    cosines = np.where(norms > 0, (want * got).sum(axis=1) / np.where(norms > 0, norms, 1), 1.0)
    return {
        "cosine_min": float(cosines.min()),
        "cosine_median": float(np.median(cosines)),
        "cosine_mean": float(cosines.mean()),
        "samples": samples,
    }


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
    foreground = float((want != 0).mean())  # class 0 as background: an IoU of empty masks says nothing
    if foreground == 0:
        return {"foreground": 0.0, "why": "the source's masks are all background (class 0) on these samples"}
    ious = []
    for w, g in zip(want, got):
        classes = np.union1d(np.unique(w), np.unique(g))
        per_class = [np.logical_and(w == c, g == c).sum() / np.logical_or(w == c, g == c).sum() for c in classes]
        ious.append(float(np.mean(per_class)))
    return {
        "mask_iou_min": min(ious),
        "mask_iou_mean": float(np.mean(ious)),
        "foreground": foreground,
        "samples": samples,
    }


def _boxes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[boxes, 5 + classes] -> (corners [boxes, 4], scores [boxes])."""
    cx, cy, w, h = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
    scores = x[:, 4] * (x[:, 5:].max(axis=1) if x.shape[1] > 5 else 1.0)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1), scores


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    low, high = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=1)
    area = np.prod(np.clip(box[2:] - box[:2], 0, None))
    areas = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
    return inter / np.maximum(area + areas - inter, 1e-12)


def detect(golden: np.ndarray, actual: np.ndarray, samples: int, labels: list[int] | None) -> dict:
    if golden.ndim != 3 or golden.shape[0] != samples or golden.shape[2] < 5:
        return {
            "why": f"a detector's output here is [samples, boxes, 5 + classes] (cx, cy, w, h, objectness, "
            f"class scores); this one is {list(golden.shape)}"
        }
    found, matched, deltas = 0, 0, []
    for want, got in zip(golden, actual):
        source, source_scores = _boxes(want)
        target, target_scores = _boxes(got)
        free = np.ones(len(target), dtype=bool)
        for index in np.argsort(-source_scores):
            if source_scores[index] < SCORE:
                break
            found += 1
            ious = np.where(free, _iou(source[index], target), -1.0)
            best = int(ious.argmax())
            if ious[best] >= IOU:
                matched += 1
                free[best] = False
                deltas.append(abs(float(target_scores[best] - source_scores[index])))
    if not found:
        return {"boxes": 0, "why": f"the source scores no box at {SCORE} or more on these samples"}
    return {
        "boxes": found,
        "boxes_matched": matched / found,
        "score_delta_mean": float(np.mean(deltas)) if deltas else None,
        "score_delta_max": max(deltas) if deltas else None,
        "samples": samples,
    }


MEASURES = {"classify": classify, "embed": embed, "segment": segment, "detect": detect}
