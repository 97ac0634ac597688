"""The graph at the signature's static shapes, its shape computations folded: each input's dynamic
dimensions fixed to the shape the manifest gives (a dynamic batch at 1), then every node whose outputs are
small values computable from constants and static shapes (Shape, Gather of a shape, Concat of them, a
Reshape's or an Expand's target) replaced by a Constant, round after round (stages/onnx/static.py). The
same function of the inputs at those shapes; the artifact then takes those shapes only. A fallback: OpenVINO
writes some graphs' shape computations into IR its own loader refuses (an Expand's i64 shape multiplied by
an i32)."""

from __future__ import annotations

from stages.onnx import static
from stages.onnx.legalize.graph import Graph


def run(graph: Graph) -> int:
    static.fix_inputs(graph.model, graph.inputs)
    count = 0
    for _ in range(static.ROUNDS):
        folded = static.freeze(graph.model, static.infer(graph.model))
        if not folded:
            break
        count += folded
    return count
