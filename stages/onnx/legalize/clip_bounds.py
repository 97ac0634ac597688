"""A Clip whose bound the graph computes (a melspectrogram's top_db floor: the max minus 80 dB), or whose
bound is infinite, as Max and Min with its finite bounds: ONNX's Clip is exactly min(max(x, lo), hi), and
an infinite bound bounds nothing. Converters take a Clip's bounds as finite constants: OpenVINO folds a
computed one into a Clamp its own loader refuses (min above max), and writes an infinite max into its IR
as one it reads back as 0; ncnn's Clip layer takes one blob and constant bounds. A Clip with finite
constant bounds is left alone."""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph, Steps


def run(graph: Graph) -> int:
    return graph.rewrite_each("Clip", _plan, _nodes)


def _plan(graph: Graph, node):
    names = [node.input[i] if len(node.input) > i and node.input[i] else None for i in (1, 2)]
    infinite = [
        name
        for name in names
        if name and name in graph.constants and np.isinf(np.asarray(graph.constants[name], np.float64)).all()
    ]
    if not infinite and not any(name and name not in graph.constants for name in names):
        return None
    return tuple(None if name in infinite else name for name in names)  # an infinite bound bounds nothing


def _nodes(graph: Graph, node, low: str | None, high: str | None) -> list:
    steps = Steps(node.name or node.output[0], node.output[0])
    current = node.input[0]
    if not low and not high:
        steps("Identity", "unbounded", [current], last=True)
    if low:
        current = steps("Max", "floor", [current, low], last=not high)
    if high:
        steps("Min", "ceiling", [current, high], last=True)
    return steps.made
