"""An input whose first axis is not a batch of one (a recurrent state [2, 1, 128], a scalar) taken with a
leading axis of one, squeezed inside: ncnn's blobs have no batch axis, and pnnx takes every input's first
axis for one. The same function; the input's spec then says `unbatched`, with a note: the whole array is
one blob (the validation feeds it so)."""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph, rename_reads
from stages.onnx.static import signature_shape


def run(graph: Graph) -> int:
    from onnx import helper

    specs = {spec["name"]: spec for spec in graph.inputs}
    squeezes, inners = [], {}
    for value in graph.graph.input:
        spec = specs.get(value.name)
        if spec is None or spec.get("unbatched") or value.name in graph.outputs:
            continue
        shape = signature_shape(spec)
        if shape[:1] == [1]:
            continue
        inner = graph.unused(f"{value.name}/unbatched")
        for node in graph.graph.node:
            rename_reads(node, value.name, inner)
        dims = value.type.tensor_type.shape.dim
        del dims[:]
        for size in [1, *shape]:
            dims.add().dim_value = size
        axis, attribute = graph.axes(f"{value.name}/batch_axis", [0])
        squeezes.append(
            helper.make_node("Squeeze", [value.name, *axis], [inner], name=f"{value.name}/squeeze", **attribute)
        )
        inners[inner] = (value.name, shape)
        said = f"ncnn's blobs have no batch axis: the whole {shape} array is one blob"
        spec.update(unbatched=True, note=f"{spec['note']}; {said}" if spec.get("note") else said)
    if squeezes:
        graph.prepend(squeezes)
        if graph.rewrite_each("Gather", lambda g, node: _picked(g, node, inners), _pick):
            graph.drop_unread()  # a Squeeze whose every reader now picks from the input as given
    return len(squeezes)


def _picked(graph: Graph, node, inners: dict):
    """A Gather of one index along the first axis of an input the pass squeezed (a recurrent state's
    layers: state[0], state[1]), which pnnx would take from its batch axis."""
    axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
    index = graph.constants.get(node.input[1]) if len(node.input) > 1 else None
    if node.input[0] not in inners or axis != 0 or index is None or np.ndim(index) != 0:
        return None
    return inners[node.input[0]]


def _pick(graph: Graph, node, source: str, shape: list) -> list:
    """The same index along the second axis of the input with its axis of one, reshaped to the layer's
    shape."""
    from onnx import helper

    base = node.name or node.output[0]
    picked = graph.unused(f"{base}/picked")
    target = graph.constant(f"{base}/shape", shape[1:], np.int64)
    return [
        helper.make_node("Gather", [source, node.input[1]], [picked], name=f"{base}/picked", axis=1),
        helper.make_node("Reshape", [picked, target], list(node.output), name=base),
    ]
