"""An input whose first axis is not a batch of one (a recurrent state [2, 1, 128], a scalar) taken with a
leading axis of one, squeezed inside: ncnn's blobs have no batch axis, and pnnx takes every input's first
axis for one. The same function; the input's spec then says `unbatched`, with a note: the whole array is
one blob (the validation feeds it so)."""
from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph, copy
from stages.onnx.legalize.int_inputs import _rename


def run(graph: Graph) -> int:
    from onnx import NodeProto, helper

    specs = {spec["name"]: spec for spec in graph.inputs}
    squeezes = []
    for value in graph.graph.input:
        spec = specs.get(value.name)
        if spec is None or spec.get("unbatched") or value.name in graph.outputs:
            continue
        shape = [d if isinstance(d, int) else 1 for d in spec["shape"]]
        if shape[:1] == [1]:
            continue
        inner = graph.unused(f"{value.name}/unbatched")
        for node in graph.graph.node:
            _rename(node, value.name, inner)
        dims = value.type.tensor_type.shape.dim
        del dims[:]
        for size in [1, *shape]:
            dims.add().dim_value = size
        if graph.opset >= 13:
            axis = graph.constant(f"{value.name}/batch_axis", [0], np.int64)
            squeeze = helper.make_node("Squeeze", [value.name, axis], [inner], name=f"{value.name}/squeeze")
        else:
            squeeze = helper.make_node("Squeeze", [value.name], [inner], name=f"{value.name}/squeeze", axes=[0])
        squeezes.append(squeeze)
        spec.update(unbatched=True, note=f"ncnn's blobs have no batch axis: the whole {shape} array is one blob")
    if squeezes:
        nodes = [*squeezes, *(copy(node, NodeProto) for node in graph.graph.node)]
        del graph.graph.node[:]
        graph.graph.node.extend(nodes)
    return len(squeezes)
