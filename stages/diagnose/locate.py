"""Name the first layer where an artifact leaves the ONNX graph: the first node whose outputs no
tensor of the artifact reproduces, whose inputs were reproduced, and after which nothing is again.

The artifact's tensors are paired with the graph's by value: for each ONNX tensor, the artifact tensor
of its size (as it is, channels moved last, or with unit axes dropped) that is nearest. Converters
fuse layers (a Conv and its Relu become one op), so a tensor missing from the artifact is not a
divergence by itself; a node is where the artifact diverged only when every tensor after it, up to the
outputs, is off too. This is a diagnosis, not a gate: the gate compared the outputs, by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages import layout as layouts
from stages.diagnose.reference import Node

# How close a tensor must be (error / max |reference|) to count as reproduced, by precision; never
# tighter than a tenth of the outputs' own error, so a small fp32 miss is located as well as a large one.
BASE = {"fp32": 1e-5, "fp16": 2e-3}
BASE_QUANTIZED = 5e-2
CLOSEST = 3  # candidates compared element by element, nearest by summary statistics first


@dataclass(frozen=True)
class Paired:
    tensor: str | None  # the artifact's tensor nearest to the ONNX one
    error: float  # max |difference| / max |reference|; inf where the artifact has none of its size


def _stats(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64).ravel()
    return np.array([x.mean(), x.std(), x.min(), x.max()])


def _views(x: np.ndarray, target_shape: tuple[int, ...]) -> list[np.ndarray]:
    """`x` (ONNX layout) as the artifact could hold it: as it is, channels moved last, unit axes dropped."""
    views = []
    if x.shape == target_shape:
        views.append(x)
    lay = layouts.CHANNELS_FIRST.get(x.ndim)
    if lay:
        moved = layouts.relayout(x, lay, layouts.swapped(lay))
        if moved.shape == target_shape:
            views.append(moved)
    if not views and [d for d in x.shape if d != 1] == [d for d in target_shape if d != 1]:
        views.append(x.reshape(target_shape))
    return views


def pair(reference: dict[str, np.ndarray], artifact: dict[str, np.ndarray]) -> dict[str, Paired]:
    by_size: dict[int, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for name, value in artifact.items():
        if np.all(np.isfinite(value)):
            by_size.setdefault(value.size, []).append((name, value, _stats(value)))
    paired = {}
    for name, ref in reference.items():
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        candidates = by_size.get(ref.size, [])
        if not candidates or not np.all(np.isfinite(ref)):
            paired[name] = Paired(None, float("inf"))
            continue
        wanted = _stats(ref)
        nearest = sorted(candidates, key=lambda c: float(np.abs(c[2] - wanted).max()))[:CLOSEST]
        best = Paired(None, float("inf"))
        for cand_name, value, _ in nearest:
            for view in _views(ref, value.shape):
                error = float(np.max(np.abs(view.astype(np.float64) - value))) / max(scale, 1e-12)
                if error < best.error:
                    best = Paired(cand_name, error)
        paired[name] = best
    return paired


CURVE_POINTS = 400


def threshold(precision: str, output_error: float) -> float:
    return max(BASE.get(precision, BASE_QUANTIZED), 0.1 * output_error)


def locate(
    nodes: list[Node],
    reference: dict[str, np.ndarray],
    artifact: dict[str, np.ndarray],
    graph_outputs: list[str],
    precision: str,
) -> dict:
    """The first diverging layer, or why none was found; with how many tensors were compared."""
    paired = pair(reference, artifact)
    output_error = max(
        (paired[o].error for o in graph_outputs if o in paired and np.isfinite(paired[o].error)), default=0.0
    )
    limit = threshold(precision, output_error)
    ok = {name: p.error <= limit for name, p in paired.items()}
    # good_after[t]: some tensor computed from t (directly or not) is reproduced again
    consumers: dict[str, list[Node]] = {}
    for node in nodes:
        for name in node.inputs:
            consumers.setdefault(name, []).append(node)
    good_after: dict[str, bool] = {}
    for node in reversed(nodes):
        for name in node.outputs:
            good_after[name] = any(
                ok.get(o, False) or good_after.get(o, False) for c in consumers.get(name, []) for o in c.outputs
            )
    curve = [
        [node.name, min(paired[o].error for o in node.outputs if o in paired)]
        for node in nodes
        if any(o in paired and np.isfinite(paired[o].error) for o in node.outputs)
    ]
    summary = {
        "compared": len(paired),
        "reproduced": sum(ok.values()),
        "threshold": limit,
        "method": "every ONNX tensor (ONNX Runtime) against the artifact tensor nearest to it",
        # each layer's relative error in graph order (report.html's curve), at most CURVE_POINTS of them
        "curve": curve[:: max(1, -(-len(curve) // CURVE_POINTS))],
    }
    for node in nodes:
        outputs = [o for o in node.outputs if o in paired]
        if not outputs or any(ok[o] or good_after.get(o, False) for o in outputs):
            continue
        inputs = [i for i in node.inputs if i in paired]
        if not all(ok[i] or good_after.get(i, False) for i in inputs):
            continue  # an earlier node diverged already
        before = max((paired[i].error for i in inputs), default=0.0)
        after = min(paired[o].error for o in outputs)
        return {
            **summary,
            "layer": node.name,
            "op": node.op,
            "output": outputs[0],
            "error_before": before,
            "error_after": after,
            "artifact_tensor": paired[outputs[0]].tensor,
        }
    if not any(np.isfinite(p.error) for p in paired.values()):
        return {
            **summary,
            "layer": None,
            "why": "no tensor of the graph could be compared: the diagnosis compares float tensors that are "
            "finite on the samples, and this graph computes none",
        }
    return {
        **summary,
        "layer": None,
        "why": f"every layer's tensor is within {limit:.2g} of the ONNX graph's somewhere in the artifact: "
        f"the error builds up across layers rather than jumping at one",
    }
