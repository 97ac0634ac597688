"""TensorFlow's div_no_nan, Where(Equal(d, 0), 0, x / d), as ops that need no comparison:

    kept = Sign(Abs(d))                  0 where d is 0, else 1
    y    = x / (d + (1 - kept)) * kept   x / d where d is not 0 (d + 0 and · 1 change nothing), else 0

The same values for finite x and d (a NaN d, which Equal calls unequal to 0, gives NaN here as x / NaN does
there). ncnn has no Equal or Where layer; basic-pitch's normalized log spectrogram divides so."""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph, Steps


def run(graph: Graph) -> int:
    count = graph.rewrite_each("Where", _plan, _nodes)
    if count:
        graph.drop_unread()  # the Equal and the Div the Where read
    return count


def _plan(graph: Graph, node):
    equal = graph.made_by(node.input[0], "Equal")
    divide = graph.made_by(node.input[2], "Div")
    if equal is None or divide is None or not _zero(graph, node.input[1]) or divide.input[1] not in equal.input:
        return None
    d = divide.input[1]
    if not _zero(graph, graph.other(equal, d) or "") or np.dtype(graph.elem_type(d)).kind != "f":
        return None
    return divide.input[0], d


def _zero(graph: Graph, name: str) -> bool:
    value = graph.constants.get(name)
    return value is not None and value.size == 1 and float(value.reshape(())) == 0.0


def _nodes(graph: Graph, node, x: str, d: str) -> list:
    steps = Steps(node.name or node.output[0], node.output[0])
    dtype = graph.elem_type(d)
    one = graph.constant(f"{steps.name}/one", 1, dtype)
    magnitude = steps("Abs", "magnitude", [d])
    nonzero = steps("Sign", "nonzero", [magnitude])
    zero = steps("Sub", "zero", [one, nonzero])
    safe = steps("Add", "safe_divisor", [d, zero])
    quotient = steps("Div", "quotient", [x, safe])
    steps("Mul", "kept", [quotient, nonzero], last=True)
    return steps.made
