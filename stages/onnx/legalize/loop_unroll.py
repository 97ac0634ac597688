"""A Loop whose trip count and conditions are known when the graph is built, unrolled: its body copied once
per iteration (its tensors renamed `<loop>/<i>/<name>`), each copy reading the carried values the one before
made, the iteration number a constant; the final carried values passed on by Identity, each scan output the
iterations' values stacked (Unsqueeze, Concat). tf2onnx writes a Keras RNN it cannot rewrite as a Loop over
the time steps (TensorFlow's while_loop); emitters without control flow (MXNet, Caffe, pnnx's ncnn) then see
plain ops. The same function: the body is the same ops in the same order. Left alone where the trip count, or
the condition of any iteration, depends on the inputs, where the body holds subgraphs of its own, or past
MAX_STEPS iterations.
"""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph

MAX_STEPS = 1024
SMALL = 4096  # a folded value larger than this is a computation kept, not a constant


def run(graph: Graph) -> int:
    count = 0
    for made in [n.output[0] for n in graph.graph.node if n.op_type == "Loop" and n.domain in ("", "ai.onnx")]:
        node = graph.producer[made]
        nodes = _unrolled(graph, node)
        if nodes is not None:
            graph.replace([node], nodes)
            count += 1
    return count


def _unrolled(graph: Graph, node) -> list | None:
    from onnx import helper

    from stages.onnx.static import fold

    body = next(a.g for a in node.attribute if a.name == "body")
    if any(a.type in (a.GRAPH, a.GRAPHS) for inner in body.node for a in inner.attribute):
        return None
    known = graph.folded()
    trips = known.get(node.input[0]) if node.input[0] else None
    condition = known.get(node.input[1]) if len(node.input) > 1 and node.input[1] else np.array(True)
    if trips is None or condition is None or int(trips.reshape(())) > MAX_STEPS:
        return None
    carried = list(node.input[2:])
    scans = len(body.output) - 1 - len(carried)
    values = known  # what each iteration computes from constants is added as it is copied
    made, stacked = [], [[] for _ in range(scans)]
    base = node.name or node.output[0]
    weights = {init.name: graph.constant(f"{base}/{init.name}", _array(init), None) for init in body.initializer}
    for step in range(int(trips.reshape(()))):
        if not bool(np.asarray(condition).reshape(())):
            break
        iteration = _constant(made, values, f"{base}/{step}/iteration", np.array(step, np.int64))
        names = {
            **weights,
            body.input[0].name: iteration,
            **{inner.name: outer for inner, outer in zip(body.input[2:], carried, strict=True)},
        }
        if len(body.input) > 1:
            names[body.input[1].name] = _constant(made, values, f"{base}/{step}/condition", np.asarray(condition, bool))
        for inner in body.node:
            inputs = [names.get(name, name) if name else "" for name in inner.input]
            outputs = [f"{base}/{step}/{name}" if name else "" for name in inner.output]
            names.update((old, new) for old, new in zip(inner.output, outputs, strict=True) if old)
            copy = helper.make_node(
                inner.op_type, inputs, outputs, name=f"{base}/{step}/{inner.name}", domain=inner.domain
            )
            copy.attribute.extend(inner.attribute)
            folded = fold(copy, values, graph.shape, graph.opset)
            if folded is not None and all(np.asarray(v).size <= SMALL for v in folded):
                for name, value in zip(outputs, folded, strict=True):
                    if name:
                        values[name] = np.asarray(value)
                        made.append(helper.make_node("Constant", [], [name], value=_tensor(values[name])))
            else:
                made.append(copy)
        condition = values.get(names.get(body.output[0].name, body.output[0].name))
        if condition is None:  # the loop's end depends on what it computes
            return _undone(graph, weights)
        carried = [names.get(out.name, out.name) for out in body.output[1 : 1 + len(carried)]]
        for index, out in enumerate(body.output[1 + len(carried) :]):
            stacked[index].append(names.get(out.name, out.name))
    for outer, value in zip(node.output[: len(carried)], carried, strict=True):  # then the scan outputs
        if outer:
            made.append(helper.make_node("Identity", [value], [outer], name=f"{base}/{outer}"))
    if any(outer and not steps for outer, steps in zip(node.output[len(carried) :], stacked, strict=True)):
        return _undone(graph, weights)  # no iteration ran: ONNX's scan output then has no elements of a known shape
    axis, attribute = graph.axes(f"{base}/stack_axis", [0])
    for outer, steps in zip(node.output[len(carried) :], stacked, strict=True):
        if not outer:
            continue
        rows = [f"{base}/{outer}/{i}" for i in range(len(steps))]
        made += [
            helper.make_node("Unsqueeze", [step, *axis], [row], name=row, **attribute)
            for step, row in zip(steps, rows, strict=True)
        ]
        made.append(helper.make_node("Concat", rows, [outer], name=f"{base}/{outer}", axis=0))
    return made


def _undone(graph: Graph, weights: dict) -> None:
    """The body's weights this pass put in the graph taken out again (the Loop stays)."""
    added = set(weights.values())
    graph.keep_initializers(lambda name: name not in added)
    return None


def _constant(made: list, values, name: str, value: np.ndarray) -> str:
    from onnx import helper

    values[name] = value
    made.append(helper.make_node("Constant", [], [name], value=_tensor(value)))
    return name


def _tensor(value: np.ndarray):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(value))


def _array(init) -> np.ndarray:
    from onnx import numpy_helper

    return numpy_helper.to_array(init)
