"""Transposes that undo each other around ops that do not care about layout, taken out: tf2onnx wraps a
Keras Softmax, activation or reduction over NHWC in Transpose(NCHW -> NHWC) … Transpose(NHWC -> NCHW),
and onnx2tf leaves the same pairs. `Transpose(P) -> ops -> Transpose(Q)`, where Q undoes P, becomes the
ops alone, reading the first Transpose's input, with their axes renumbered (a Softmax over the transposed
axis a works over axis P[a] of the input) and a constant operand transposed to the input's layout. Two
Transposes in a row become one, and one that keeps every axis in place none.

The ops between may be element-wise (one input, or a second that is a constant), Softmax/LogSoftmax
(from opset 13, where they work on one axis; before, only over a last axis the Transpose keeps), or a
reduction that keeps its dims. Each tensor between has the Transpose chain as its only reader, and none
is a graph output: nothing else sees the layout change.
"""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph, rename_reads

UNARY = {
    "Relu",
    "Sigmoid",
    "Tanh",
    "Exp",
    "Log",
    "Sqrt",
    "Neg",
    "Abs",
    "Reciprocal",
    "Erf",
    "Elu",
    "LeakyRelu",
    "Selu",
    "HardSigmoid",
    "HardSwish",
    "Softplus",
    "Softsign",
    "Identity",
    "Cast",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "Not",
    "IsNaN",
    "Clip",
    "Mish",
    "Gelu",
    "Sin",
    "Cos",
    "Celu",
    "ThresholdedRelu",
    "Dropout",
}
BINARY = {
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Max",
    "Min",
    "PRelu",
    "Equal",
    "Greater",
    "Less",
    "GreaterOrEqual",
    "LessOrEqual",
    "And",
    "Or",
    "Xor",
    "Mod",
    "BitShift",
}
SOFTMAX = {"Softmax", "LogSoftmax", "Hardmax"}
REDUCE = {
    "ReduceMean",
    "ReduceSum",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceSumSquare",
}


def run(graph: Graph) -> int:
    count = 0
    while True:
        done = next(
            (
                step
                for node in list(graph.graph.node)
                if node.op_type == "Transpose"
                for step in [_step(graph, node)]
                if step
            ),
            0,
        )
        if not done:
            return count
        count += done


def _perm(graph: Graph, node) -> list[int] | None:
    perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
    if perm is None:
        shape = graph.shape(node.input[0])
        return None if shape is None else list(range(len(shape)))[::-1]
    return perm


def _step(graph: Graph, first) -> int:
    """One rewrite starting at the Transpose `first`; how many nodes it took out (0: none)."""
    perm = _perm(graph, first)
    if perm is None:
        return 0
    if perm == sorted(perm) and first.output[0] not in graph.outputs:
        _bypass(graph, first.output[0], first.input[0])
        graph.replace([first], [])
        return 1
    chain, tensor = [], first.output[0]  # (node, the tensor of the chain it reads)
    while True:
        readers = graph.consumers.get(tensor, [])
        if len(readers) != 1 or tensor in graph.outputs:
            return 0
        node = readers[0]
        if node.domain not in ("", "ai.onnx"):
            return 0
        if node.op_type == "Transpose":
            second = _perm(graph, node)
            merged = None if second is None else [perm[q] for q in second]
            if merged is None or (chain and merged != sorted(merged)):
                return 0
            return _cancel(graph, first, chain, node, perm) if chain else _merge(graph, first, node, merged)
        if not _layout_free(graph, node, tensor, perm):
            return 0
        chain.append((node, tensor))
        tensor = node.output[0]


def _layout_free(graph: Graph, node, tensor: str, perm: list[int]) -> bool:
    """Whether `node`, reading `tensor` (laid out by `perm`), can read the untransposed tensor instead."""
    if len([name for name in node.output if name]) != 1:
        return False
    if node.op_type in UNARY:
        return node.input[0] == tensor and all(graph.constants.get(name) is not None for name in node.input[1:] if name)
    if node.op_type in BINARY:
        other = graph.other(node, tensor)
        value = graph.constants.get(other) if other is not None else None
        return value is not None and np.ndim(value) <= len(perm)
    if node.op_type in SOFTMAX:
        axis = _softmax_axis(graph, node, len(perm))
        return graph.opset >= 13 or (axis == len(perm) - 1 and perm[axis] == axis)
    if node.op_type in REDUCE:
        keep = next((a.i for a in node.attribute if a.name == "keepdims"), 1)
        given = node.input[1:2] and node.input[1]
        return bool(keep) and (not given or graph.constants.get(given) is not None)
    return False


def _softmax_axis(graph: Graph, node, rank: int) -> int:
    """A Softmax's (LogSoftmax's, Hardmax's) axis, made non-negative: by default the last from opset 13, 1
    before."""
    return next((a.i for a in node.attribute if a.name == "axis"), -1 if graph.opset >= 13 else 1) % rank


def _cancel(graph: Graph, first, chain: list, last, perm: list[int]) -> int:
    """The chain between two Transposes that undo each other, reading `first`'s input and writing `last`'s
    output, its axes renumbered."""
    from onnx import helper

    inverse = list(np.argsort(perm))
    rank, source = len(perm), first.input[0]
    rebuilt = []
    for node, read in chain:
        copy = helper.make_node(
            node.op_type,
            [source if name == first.output[0] else name for name in node.input],
            [last.output[0] if name == chain[-1][0].output[0] else name for name in node.output],
            name=node.name,
            domain=node.domain,
        )
        copy.attribute.extend(a for a in node.attribute if a.name not in ("axis", "axes"))
        if node.op_type in BINARY:
            other = graph.other(node, read)
            value = np.asarray(graph.constants[other])
            if value.size > 1:
                full = value.reshape((1,) * (rank - value.ndim) + value.shape).transpose(inverse)
                copy.input[list(node.input).index(other)] = graph.constant(f"{other}/untransposed", full, None)
        elif node.op_type in SOFTMAX:
            copy.attribute.append(helper.make_attribute("axis", perm[_softmax_axis(graph, node, rank)]))
        elif node.op_type in REDUCE:
            _reduce_axes(graph, node, copy, perm)
        rebuilt.append(copy)
    graph.replace([first, *(node for node, _ in chain), last], rebuilt)
    return 2


def _reduce_axes(graph: Graph, node, copy, perm: list[int]) -> None:
    from onnx import helper

    rank = len(perm)
    listed = next((list(a.ints) for a in node.attribute if a.name == "axes"), None)
    if listed is not None:
        copy.attribute.append(helper.make_attribute("axes", sorted(perm[a % rank] for a in listed)))
    elif len(node.input) > 1 and node.input[1]:
        axes = [perm[int(a) % rank] for a in np.asarray(graph.constants[node.input[1]]).reshape(-1)]
        copy.input[1] = graph.constant(f"{node.input[1]}/untransposed", sorted(axes), np.int64)


def _merge(graph: Graph, first, second, merged: list[int]) -> int:
    """Two Transposes in a row as one (none where together they keep every axis in place)."""
    from onnx import helper

    if merged == sorted(merged):
        if second.output[0] in graph.outputs:
            added = [helper.make_node("Identity", [first.input[0]], list(second.output), name=second.name)]
        else:
            _bypass(graph, second.output[0], first.input[0])
            added = []
    else:
        added = [helper.make_node("Transpose", [first.input[0]], list(second.output), name=second.name, perm=merged)]
    graph.replace([second] + ([first] if len(graph.consumers.get(first.output[0], [])) == 1 else []), added)
    return 1 if added else 2


def _bypass(graph: Graph, old: str, new: str) -> None:
    """Every reader of `old` (its subgraphs too) reads `new` instead."""
    for node in graph.consumers.get(old, []):
        rename_reads(node, old, new)
