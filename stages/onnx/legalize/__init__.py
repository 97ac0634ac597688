"""ONNX legalization: passes that rewrite a graph into the forms a converter or emitter takes, each exact
(the same function of the inputs, op for op as ONNX defines them), run on the converter's private copy of
the graph, never on the bundle's. A converter names the passes it wants (`apply(model, ("gelu", …))`);
what each pass changed is returned, and the stage records it in its manifest as `legalized`.

    gelu       x·½·(1 + erf(x/√2)) and x·½·(1 + tanh(√(2/π)(x + 0.044715x³))), as one Gelu node
    reduce-l2  ReduceL2 as Sqrt(ReduceSumSquare)
"""
from __future__ import annotations

from stages.onnx.legalize import gelu, reduce_l2
from stages.onnx.legalize.graph import Graph

PASSES = {
    "gelu": gelu.run,
    "reduce-l2": reduce_l2.run,
}


def apply(model, passes: tuple[str, ...]) -> dict[str, int]:
    """Run `passes` on `model` in place, in the order given; {pass: nodes it rewrote} for those that did."""
    changed = {}
    for name in passes:
        graph = Graph(model)
        count = PASSES[name](graph)
        if count:
            graph.prune()
            changed[name] = count
    return changed
