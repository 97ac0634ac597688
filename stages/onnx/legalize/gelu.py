"""GELU rewritten in the one form TFLite's converter fuses into its GELU builtin, whichever ONNX form it
came in. An Erf alone has no TFLite builtin ("TF op Erf … would need the Flex delegate"), and TF's own
tf.nn.gelu (what onnx2tf makes of ONNX's Gelu) uses Erfc, which TFJS lacks; the forms below keep Erf
(TFJS has it) and are what TF's converter matches:
    exact:  (x · ½) · (1 + erf(x · 1/√2))
    tanh:   (x · ½) · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))      x³ as Pow(x, 3)
Matched: ONNX's Gelu node (opset 20 on), and the formulas written out, with the operands of Add and Mul in
either order, ½ applied first or last, x/√2 or x·1/√2, x³ as Pow(x, 3), x·x·x or x·(x·x). Every tensor
inside a pattern must be read by the pattern alone. Each is the same function; only the order of the
float operations may differ."""

from __future__ import annotations

import math

from stages.onnx.legalize.graph import Graph, Steps

SQRT2 = math.sqrt(2.0)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
CUBIC = 0.044715


def near(value: float | None, want: float, tolerance: float = 1e-6) -> bool:
    return value is not None and abs(value - want) <= tolerance * max(1.0, abs(want))


def run(graph: Graph) -> int:
    found = []
    for node in graph.graph.node:
        if node.domain not in ("", "ai.onnx"):
            continue
        if node.op_type == "Gelu":
            found.append((node.input[0], [node], node.output[0], _approximate(node), graph.elem_type(node.input[0])))
            continue
        match = exact(graph, node) if node.op_type == "Erf" else tanh(graph, node) if node.op_type == "Tanh" else None
        if match is not None and not canonical(graph, match):
            found.append(match)
    for x, nodes, out, approximate, dtype in found:  # no two share a node: each inner tensor has one reader
        graph.replace(nodes, make(graph, x, out, nodes[-1].name or out, approximate, dtype))
    return len(found)


def exact(graph: Graph, erf):
    """x for erf(x/√2) (or erf(x·1/√2)), with the nodes of the whole GELU and its output."""
    scaled = erf.input[0]
    divide = graph.made_by(scaled, "Div")
    multiply = graph.made_by(scaled, "Mul")
    if divide is not None and near(graph.scalar(divide.input[1]), SQRT2):
        pre, x = divide, divide.input[0]
    elif multiply is not None:
        pre, x = multiply, _operand(graph, multiply, 1 / SQRT2)
    else:
        return None
    if x is None or graph.only_reader(scaled, "Erf") is None:
        return None
    rest = tail(graph, erf, x)
    return None if rest is None else (x, [pre, erf, *rest[0]], rest[1], "none", _dtype(graph, pre))


def tanh(graph: Graph, node):
    """x for tanh(√(2/π)·(x + 0.044715·x³)), with the nodes of the whole GELU and its output."""
    scaled = graph.made_by(node.input[0], "Mul")
    if scaled is None or graph.only_reader(node.input[0], "Tanh") is None:
        return None
    inner = _operand(graph, scaled, SQRT_2_OVER_PI)
    add = graph.made_by(inner, "Add") if inner else None
    if add is None or graph.only_reader(inner, "Mul") is None:
        return None
    for x in add.input:
        cubic = graph.made_by(graph.other(add, x) or "", "Mul")
        if cubic is None or graph.only_reader(cubic.output[0], "Add") is None:
            continue
        cube = _operand(graph, cubic, 0.044715)
        nodes = _cube(graph, cube, x) if cube else None
        if nodes is None:
            continue
        rest = tail(graph, node, x)
        if rest is not None:
            return x, [*nodes, cubic, add, scaled, node, *rest[0]], rest[1], "tanh", _dtype(graph, scaled)
    return None


def _operand(graph: Graph, node, constant: float) -> str | None:
    """Of a binary node with one input the scalar `constant`, the other input."""
    for name in node.input:
        other = graph.other(node, name)
        if other is not None and near(graph.scalar(name), constant):
            return other
    return None


def _cube(graph: Graph, cube: str, x: str) -> list | None:
    """The nodes that make `cube` = x³ from x, read by nothing else, or None."""
    power = graph.made_by(cube, "Pow")
    if power is not None and power.input[0] == x and near(graph.scalar(power.input[1]), 3.0):
        return [power] if len(graph.consumers[cube]) == 1 else None
    outer = graph.made_by(cube, "Mul")
    if outer is None or len(graph.consumers[cube]) != 1 or x not in outer.input:
        return None
    square = graph.made_by(graph.other(outer, x) or "", "Mul")
    if square is None or list(square.input) != [x, x] or len(graph.consumers[square.output[0]]) != 1:
        return None
    return [square, outer]


def tail(graph: Graph, activation, x: str):
    """From erf(…)/tanh(…) on: 1 + it, times x and ½ in any order. (nodes, output name) or None."""
    add = graph.only_reader(activation.output[0], "Add")
    if add is None or not near(graph.scalar(graph.other(add, activation.output[0]) or ""), 1.0):
        return None
    first = graph.only_reader(add.output[0], "Mul")
    if first is None:
        return None
    factor = graph.other(first, add.output[0])
    if factor == x:  # (x · (1 + a)) · ½
        second = graph.only_reader(first.output[0], "Mul")
        if second is not None and near(graph.scalar(graph.other(second, first.output[0]) or ""), 0.5):
            return [add, first, second], second.output[0]
        return None
    if near(graph.scalar(factor or ""), 0.5):  # x · ((1 + a) · ½)
        second = graph.only_reader(first.output[0], "Mul")
        if second is not None and graph.other(second, first.output[0]) == x:
            return [add, first, second], second.output[0]
        return None
    half = graph.made_by(factor or "", "Mul")  # (x · ½) · (1 + a)
    if half is not None and _operand(graph, half, 0.5) == x and graph.only_reader(factor, "Mul") is first:
        return [half, add, first], first.output[0]
    return None


def canonical(graph: Graph, match) -> bool:
    """Whether a matched pattern is in the form `make` writes already (x·½ first, x·1/√2, Pow(x, 3))."""
    x, nodes, _, approximate, _ = match
    half_first = any(
        made is not None and _operand(graph, made, 0.5) == x
        for made in (graph.made_by(name, "Mul") for name in nodes[-1].input)
    )
    ops = {n.op_type for n in nodes}
    return half_first and ("Pow" in ops if approximate == "tanh" else "Div" not in ops)


def make(graph: Graph, x: str, out: str, name: str, approximate: str, dtype) -> list:
    """The nodes of the canonical form, the last one named `name` and making `out`, the others `name/…`."""
    steps = Steps(name, out)

    def step(op: str, label: str, *inputs: str | float) -> str:
        return steps(
            op,
            label,
            [
                graph.constant(f"{name}/{label}/{i}", v, dtype) if isinstance(v, float) else v
                for i, v in enumerate(inputs)
            ],
            last=label == "gelu",
        )

    half = step("Mul", "half_x", x, 0.5)
    if approximate == "tanh":
        inner = step("Add", "inner", x, step("Mul", "cubic", step("Pow", "cube", x, 3.0), CUBIC))
        activated = step("Tanh", "tanh", step("Mul", "scaled", inner, SQRT_2_OVER_PI))
    else:
        activated = step("Erf", "erf", step("Mul", "scaled", x, 1 / SQRT2))
    step("Mul", "gelu", half, step("Add", "one_plus", activated, 1.0))
    return steps.made


def _dtype(graph: Graph, node):
    """The float type of a node's constant operand (the pattern computes in it)."""
    return next(graph.constants[name].dtype for name in node.input if name in graph.constants)


def _approximate(node) -> str:
    from onnx import helper

    return next((helper.get_attribute_value(a).decode() for a in node.attribute if a.name == "approximate"), "none")
