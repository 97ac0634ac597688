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


SMALL = 4096  # values that say a shape (shapes, pads, axes, reshape targets), not weights
ROUNDS = 32


def shapes(model, inputs: list[dict]) -> dict[str, list]:
    """Every tensor's shape ONNX's shape inference finds with the inputs fixed at the signature's shapes
    (a dynamic batch at 1); unknown dims are None, and a tensor of unknown rank is left out. Where a shape
    depends on a value the graph computes from shapes and constants (a Pad's pads, a Reshape's target made
    of Shape, Gather and Concat), that value is computed and inference runs again, until nothing new is
    known: ONNX's inference alone stops at the first such tensor."""

    fixed, weights = _without_weights(model)
    fix_inputs(fixed, inputs)
    found = infer(fixed)
    for _ in range(ROUNDS):  # each round may make the next value computable (a transformer: a layer a round)
        if not freeze(fixed, found):
            break
        try:
            found = infer(fixed)
        except Exception:  # noqa: BLE001 - what the first inference found stands
            break
    return {name: shape for name, shape in found.items() if name not in weights}


def element_types(model, inputs: list[dict]) -> dict[str, int]:
    """Each tensor's ONNX element type (TensorProto's code), by shape inference at the signature's shapes."""
    from onnx import shape_inference

    fixed, _ = _without_weights(model)
    fix_inputs(fixed, inputs)
    inferred = shape_inference.infer_shapes(fixed)
    types = {init.name: init.data_type for init in model.graph.initializer}
    types.update(
        (v.name, v.type.tensor_type.elem_type)
        for v in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)
    )
    return types


def fix_inputs(model, inputs: list[dict]) -> None:
    """`model`'s inputs declared at the shapes `inputs` (the manifest's specs) give them."""
    given = {spec["name"]: signature_shape(spec) for spec in inputs}
    for value in model.graph.input:
        for dim, size in zip(value.type.tensor_type.shape.dim, given.get(value.name, []), strict=False):
            dim.Clear()
            dim.dim_value = size


def signature_shape(spec: dict) -> list[int]:
    """An input's shape as the graph takes it: a dynamic dim at 1, and the leading axis of one the batch-axis
    pass gave an input whose first axis is not a batch (stages/onnx/legalize/batch_axis.py)."""
    shape = [d if isinstance(d, int) else 1 for d in spec["shape"]]
    return [1, *shape] if spec.get("unbatched") else shape


def _without_weights(model) -> tuple:
    """A copy of `model` whose large initializers (weights) are graph inputs of the same type and shape:
    shape inference reads only their shapes, and each of its rounds then does not serialize the weights.
    Returns the copy and the weights' names."""
    import onnx
    from onnx import helper

    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    small = [init for init in fixed.graph.initializer if int(np.prod(init.dims)) <= SMALL]
    large = [init for init in fixed.graph.initializer if int(np.prod(init.dims)) > SMALL]
    if large:
        declared = {value.name for value in fixed.graph.input}
        fixed.graph.input.extend(
            helper.make_tensor_value_info(init.name, init.data_type, list(init.dims))
            for init in large
            if init.name not in declared
        )
        kept = [onnx.TensorProto() for _ in small]
        for copy, init in zip(kept, small, strict=True):
            copy.CopyFrom(init)
        del fixed.graph.initializer[:]
        fixed.graph.initializer.extend(kept)
    return fixed, {init.name for init in large}


def infer(model) -> dict[str, list]:
    from onnx import shape_inference

    inferred = shape_inference.infer_shapes(model)
    return {
        v.name: [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
        for v in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)
        if v.type.tensor_type.HasField("shape")
    }


def freeze(model, found: dict) -> int:
    """Each node whose outputs are small values computable now (from small constants and static shapes)
    replaced, in `model`, by Constant nodes holding them; how many were."""
    from onnx import helper, numpy_helper

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    values = {
        init.name: numpy_helper.to_array(init) for init in model.graph.initializer if int(np.prod(init.dims)) <= SMALL
    }
    nodes, count = [], 0
    for node in model.graph.node:
        made = None
        if node.op_type == "Shape" or (
            node.op_type not in ("Constant", "If", "Loop", "Scan")
            and node.input
            and all(not name or name in values for name in node.input)
        ):
            made = fold(node, values, found.get, opset)
        elif node.op_type == "Constant":
            made = fold(node, values, found.get, opset)
            values.update(
                (name, np.asarray(v)) for name, v in zip(node.output, made or [], strict=False) if v.size <= SMALL
            )
            nodes.append(node)
            continue
        if made is None or any(np.asarray(v).size > SMALL for v in made):
            nodes.append(node)
            continue
        for name, value in zip(node.output, made, strict=True):
            if name:
                values[name] = np.asarray(value)
                nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(values[name])))
        count += 1
    if count:  # the kept nodes as copies: protobuf may not keep a removed element valid
        from onnx import NodeProto

        kept = []
        for node in nodes:
            kept.append(NodeProto())
            kept[-1].CopyFrom(node)
        del model.graph.node[:]
        model.graph.node.extend(kept)
    return count


def fold(node, constants: dict, shape_of, opset: int) -> list[np.ndarray] | None:
    """The outputs of a node computable before any framework runs the graph: a Constant, the Shape of a
    tensor whose shape is static (`shape_of(name)`), or any node whose inputs are all in `constants`
    (evaluated with ONNX's reference implementation). None: the node must be converted."""
    from onnx import helper, numpy_helper

    if node.op_type == "Constant":
        return [numpy_helper.to_array(node.attribute[0].t)] if node.attribute[0].name == "value" else None
    if node.op_type == "Shape":
        shape = shape_of(node.input[0])
        if shape is None or any(not isinstance(d, int) for d in shape):
            return None
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        return [np.array(shape[a.get("start", 0) : a.get("end", len(shape))], np.int64)]
    if not node.input or not all(not name or name in constants for name in node.input):
        return None
    from onnx.reference import ReferenceEvaluator

    inputs = [helper.make_tensor_value_info(name or f"_{i}", 1, None) for i, name in enumerate(node.input)]
    graph = helper.make_graph([node], "fold", inputs, [helper.make_tensor_value_info(o, 1, None) for o in node.output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    try:
        return ReferenceEvaluator(model).run(None, {name: constants[name] for name in node.input if name})
    except Exception:  # noqa: BLE001 - an op the reference cannot evaluate is converted instead
        return None
