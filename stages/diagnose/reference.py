"""The reference side of a layer-by-layer comparison: every tensor of the ONNX graph, in ONNX Runtime.

Each node's outputs are made graph outputs (graph optimizations off, so ONNX Runtime computes each
one as the graph says, not fused) and the graph runs on one run of the samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.errors import StageError


@dataclass(frozen=True)
class Node:
    name: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def nodes(model) -> list[Node]:
    """The top-level nodes in graph order (ONNX graphs are topologically sorted)."""
    return [
        Node(n.name or n.output[0], n.op_type, tuple(i for i in n.input if i), tuple(o for o in n.output if o))
        for n in model.graph.node
    ]


def tensors(path, feeds: dict[str, np.ndarray]) -> tuple[list[Node], dict[str, np.ndarray]]:
    """(the graph's nodes, every float tensor the graph computes on `feeds`), keyed by tensor name."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    model = onnx.load(str(path))
    graph_nodes = nodes(model)
    declared = {value.name for value in model.graph.output}
    for node in graph_nodes:
        for name in node.outputs:
            if name not in declared:
                model.graph.output.append(helper.make_empty_tensor_value_info(name))
                declared.add(name)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        values = session.run(names, feeds)
    except Exception as exc:  # ORT's own exception types
        raise StageError(
            f"ONNX Runtime could not run {path.name} with its intermediate tensors exposed: {str(exc).splitlines()[0]}"
        ) from None
    return graph_nodes, {
        name: np.asarray(value)
        for name, value in zip(names, values, strict=True)
        if np.asarray(value).dtype.kind == "f"
    }
