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
        made = schema.get_context_dependent_function(
            node.SerializeToString(), [t.SerializeToString() for t in input_types]
        )
        return FunctionProto.FromString(made) if made else None
    return None


def inline(node, function, fresh: Callable[[str], str], opset: int) -> list:
    """`node` as the nodes of `function`: its inputs and outputs wired to the node's, every other
    name made unique by `fresh`, attribute references resolved from the node (or the schema's defaults)."""
    from onnx import defs, helper

    schema = defs.get_schema(node.op_type, opset, node.domain)
    mapping = {inner: outer for inner, outer in zip(function.input, node.input, strict=False)}
    mapping.update(zip(function.output, node.output, strict=False))
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
        made = helper.make_node(
            inner.op_type,
            [name(i) for i in inner.input],
            [name(o) for o in inner.output],
            name=fresh(f"{prefix}/{inner.op_type}"),
            domain=inner.domain,
        )
        for attribute in inner.attribute:
            if attribute.ref_attr_name:
                source = given.get(attribute.ref_attr_name)
                if source is None and schema is not None and attribute.ref_attr_name in schema.attributes:
                    source = schema.attributes[attribute.ref_attr_name].default_value
                if source is None or not source.name:
                    continue  # an optional attribute the node leaves out
                copy = type(attribute)()
                copy.CopyFrom(source)
                copy.name = attribute.name
                made.attribute.append(copy)
            elif attribute.type in (attribute.GRAPH, attribute.GRAPHS):  # If/Loop bodies see the renamed names
                made.attribute.append(_with_outer_names(attribute, lambda outer: mapping.get(outer, outer)))
            else:
                made.attribute.append(attribute)
        nodes.append(made)
    return nodes


def _with_outer_names(attribute, rename: Callable[[str], str]):
    """A graph attribute whose references to names outside it are renamed (its own names are kept)."""
    copy = type(attribute)()
    copy.CopyFrom(attribute)
    for graph in [copy.g] if copy.type == copy.GRAPH else list(copy.graphs):
        _rename_outer(graph, rename)
    return copy


def _rename_outer(graph, rename: Callable[[str], str]) -> None:
    own = (
        {value.name for value in graph.input}
        | {init.name for init in graph.initializer}
        | {name for node in graph.node for name in node.output}
    )

    def fix(name: str) -> str:
        return name if not name or name in own else rename(name)

    for node in graph.node:
        node.input[:] = [fix(name) for name in node.input]
        for attribute in node.attribute:
            for inner in (
                [attribute.g]
                if attribute.type == attribute.GRAPH
                else list(attribute.graphs)
                if attribute.type == attribute.GRAPHS
                else []
            ):
                _rename_outer(inner, fix)
    for value in graph.output:
        value.name = fix(value.name)
