"""An ONNX graph's static facts: its constants, and its shapes at the signature's input shapes."""
from __future__ import annotations

import numpy as np


def constant(model, name: str) -> np.ndarray | None:
    """The value of an initializer or a Constant node's output, else None."""
    from onnx import numpy_helper

    for init in model.graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output[0] == name and node.attribute[0].name == "value":
            return numpy_helper.to_array(node.attribute[0].t)
    return None


def shapes(model, inputs: list[dict]) -> dict[str, list]:
    """Every tensor's shape ONNX's shape inference finds with the inputs fixed at the signature's shapes
    (a dynamic batch at 1); unknown dims are None, and a tensor of unknown rank is left out."""
    import onnx
    from onnx import shape_inference

    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    given = {spec["name"]: [d if isinstance(d, int) else 1 for d in spec["shape"]] for spec in inputs}
    for value in fixed.graph.input:
        for dim, size in zip(value.type.tensor_type.shape.dim, given.get(value.name, [])):
            dim.Clear()
            dim.dim_value = size
    inferred = shape_inference.infer_shapes(fixed)
    return {v.name: [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
            for v in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)
            if v.type.tensor_type.HasField("shape")}
