"""ONNX ops that the standard defines as functions of other ops (HardSwish, LayerNormalization,
Attention …): a node replaced by the nodes of its function body, for converters that lack the op."""
from __future__ import annotations

from typing import Callable


def body(node, opset: int, input_types: list | None = None):
    """The FunctionProto that defines `node` at `opset`, or None where the op is not a function.
    Context-dependent functions (their body depends on the input types) need `input_types` (TypeProtos)."""
    from onnx import FunctionProto, defs

    try:
        schema = defs.get_schema(node.op_type, opset, node.domain)
    except Exception:
        return None
    if schema.has_function:
        return schema.function_body
    if schema.has_context_dependent_function and input_types is not None:
        made = schema.get_context_dependent_function(node.SerializeToString(),
                                                     [t.SerializeToString() for t in input_types])
        return FunctionProto.FromString(made) if made else None
    return None


def inline(node, function, fresh: Callable[[str], str], opset: int) -> list:
    """`node` as the nodes of `function`: its inputs and outputs wired to the node's, every other
    name made unique by `fresh`, attribute references resolved from the node (or the schema's defaults)."""
    from onnx import defs, helper

    schema = defs.get_schema(node.op_type, opset, node.domain)
    mapping = {inner: outer for inner, outer in zip(function.input, node.input)}
    mapping.update(zip(function.output, node.output))
    given = {a.name: a for a in node.attribute}
    prefix = node.name or node.output[0]

    def name(inner: str) -> str:
        if not inner:
            return ""
        if inner not in mapping:
            mapping[inner] = fresh(f"{prefix}/{inner}")
        return mapping[inner]

    nodes = []
    for inner in function.node:
        made = helper.make_node(inner.op_type, [name(i) for i in inner.input], [name(o) for o in inner.output],
                                name=fresh(f"{prefix}/{inner.op_type}"), domain=inner.domain)
        for attribute in inner.attribute:
            if attribute.ref_attr_name:
                source = given.get(attribute.ref_attr_name)
                if source is None and schema is not None and attribute.ref_attr_name in schema.attributes:
                    source = schema.attributes[attribute.ref_attr_name].default_value
                if source is None or not source.name:
                    continue   # an optional attribute the node leaves out
                copy = type(attribute)()
                copy.CopyFrom(source)
                copy.name = attribute.name
                made.attribute.append(copy)
            else:
                made.attribute.append(attribute)
        nodes.append(made)
    return nodes
