"""A two-operand Einsum (DeepFilterNet's grouped linear 'btgi,gih->btgh') as Transpose, Reshape, a batched
MatMul, Reshape and Transpose, for emitters that have a batched matrix product and no einsum (MXNet).

Each index is a batch index (in both operands and the output), a contracted one (both operands, not the
output), or belongs to one operand and the output. The operands are laid out [batch, own, contracted] and
[batch, contracted, own], flattened to three axes, multiplied, and the product unflattened and put in the
output's order: the same sums, in the same float type. Rewritten only with static shapes, lower-case
indices, no ellipsis, no index repeated within an operand and no index summed out of a single operand."""

from __future__ import annotations

import math

import numpy as np

from stages.onnx.legalize.graph import Graph, Steps


def run(graph: Graph) -> int:
    return graph.rewrite_each("Einsum", _plan, _nodes)


def _plan(graph: Graph, node):
    return plan(equation_of(node), [graph.shape(name) for name in node.input])


def equation_of(node) -> str:
    from onnx import helper

    return next(helper.get_attribute_value(a) for a in node.attribute if a.name == "equation").decode()


def plan(equation: str, shapes: list):
    """(left, right, out, sizes, batch, contracted, own_left, own_right) of an einsum this module can write
    as one batched matrix product, at these static operand shapes; None otherwise."""
    equation = equation.replace(" ", "")
    if "..." in equation or "->" not in equation or len(shapes) != 2:
        return None
    (left, right), out = equation.split("->")[0].split(","), equation.split("->")[1]
    if any(s is None or None in s or len(s) != len(term) for s, term in zip(shapes, (left, right), strict=True)):
        return None
    if any(len(set(term)) != len(term) for term in (left, right, out)) or set(out) - set(left + right):
        return None
    if (set(left) - set(right) - set(out)) or (set(right) - set(left) - set(out)):
        return None  # an index summed out of one operand alone
    sizes = {}
    for term, shape in zip((left, right), shapes, strict=True):
        for index, size in zip(term, shape, strict=True):
            if sizes.setdefault(index, size) != size:
                return None  # broadcasting a 1 against a size: left to the emitter
    batch = [i for i in out if i in left and i in right]
    contracted = [i for i in left if i in right and i not in out]
    own_left = [i for i in left if i not in right]
    own_right = [i for i in right if i not in left]
    return left, right, out, sizes, batch, contracted, own_left, own_right


def _nodes(graph: Graph, node, left, right, out, sizes, batch, contracted, own_left, own_right) -> list:
    name = node.name or node.output[0]
    step = Steps(name, node.output[0])

    def flat(indices) -> int:
        return math.prod(sizes[i] for i in indices)

    def prepared(operand: str, term: str, order: list[str], label: str, dims: list[int]) -> str:
        permuted = step("Transpose", f"{label}_transposed", [operand], perm=[term.index(i) for i in order])
        size = graph.constant(f"{name}/{label}_flat", np.asarray(dims, np.int64), None)
        return step("Reshape", f"{label}_flat", [permuted, size])

    a = prepared(
        node.input[0], left, batch + own_left + contracted, "a", [flat(batch), flat(own_left), flat(contracted)]
    )
    b = prepared(
        node.input[1], right, batch + contracted + own_right, "b", [flat(batch), flat(contracted), flat(own_right)]
    )
    product = step("MatMul", "product", [a, b])
    produced = batch + own_left + own_right
    shape = graph.constant(f"{name}/shape", np.asarray([sizes[i] for i in produced] or [1], np.int64), None)
    in_order = produced == list(out)
    unflat = step("Reshape", "unflat", [product, shape], last=in_order)
    if not in_order:
        step("Transpose", "ordered", [unflat], last=True, perm=[produced.index(i) for i in out])
    return step.made
