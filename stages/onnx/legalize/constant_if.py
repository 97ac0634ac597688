"""An If whose condition is known when the graph is built (a bound input, a static shape) replaced by the
branch it takes: that branch's nodes and weights in the graph, its outputs passed on by Identity. Emitters
without control flow (MXNet, Caffe) then see plain ops. Left alone where a branch's names would collide
with the graph's."""

from __future__ import annotations

from stages.onnx.legalize.graph import Graph


def run(graph: Graph) -> int:
    """Until no If is left to decide: a taken branch may hold Ifs of its own."""
    count, rewritten = 0, _once(graph)
    while rewritten:
        count += rewritten
        rewritten = _once(graph)
    return count


def _once(graph: Graph) -> int:
    from onnx import helper

    count = 0
    branches = [n for n in graph.graph.node if n.op_type == "If" and n.domain in ("", "ai.onnx")]
    values = graph.folded() if branches else {}  # folding the graph is the cost: only where an If is
    for node in branches:
        condition = values.get(node.input[0])
        if condition is None or condition.size != 1:
            continue
        name = "then_branch" if bool(condition.reshape(())) else "else_branch"
        branch = next(a.g for a in node.attribute if a.name == name)
        taken = set(graph.producer) | {init.name for init in graph.graph.initializer}
        if any(out in taken for inner in branch.node for out in inner.output) or any(
            init.name in taken for init in branch.initializer
        ):
            continue
        graph.graph.initializer.extend(branch.initializer)
        passed = [
            helper.make_node("Identity", [inner.name], [outer], name=f"{node.name or outer}/{name}/{outer}")
            for inner, outer in zip(branch.output, node.output, strict=True)
            if outer
        ]
        graph.replace([node], [*branch.node, *passed])
        count += 1
    return count
