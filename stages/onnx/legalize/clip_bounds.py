"""A Clip whose bound the graph computes (a melspectrogram's top_db floor: the max minus 80 dB) as Max and
Min with that bound: ONNX's Clip is exactly min(max(x, lo), hi). Converters take a Clip's bounds as
constants: OpenVINO folds the computed one into a Clamp its own loader refuses (min above max), ncnn's
Clip layer takes one blob, MXNet's clip two numbers. A Clip with constant bounds is left alone."""
from __future__ import annotations

from stages.onnx.legalize.graph import Graph, Steps


def run(graph: Graph) -> int:
    return graph.rewrite_each("Clip", _plan, _nodes)


def _plan(graph: Graph, node):
    names = [node.input[i] if len(node.input) > i and node.input[i] else None for i in (1, 2)]
    if not any(name and name not in graph.constants for name in names):
        return None
    return tuple(names)


def _nodes(graph: Graph, node, low: str | None, high: str | None) -> list:
    steps = Steps(node.name or node.output[0], node.output[0])
    current = node.input[0]
    if low:
        current = steps("Max", "floor", [current, low], last=not high)
    if high:
        steps("Min", "ceiling", [current, high], last=True)
    return steps.made
