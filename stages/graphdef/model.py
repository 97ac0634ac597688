"""Read a frozen TF GraphDef (.pb) and find its inputs and outputs.

A GraphDef is a protobuf of nodes: parsing it runs no code. Inputs are its
Placeholder nodes; outputs are the nodes nothing else reads (constants and
bookkeeping ops aside). When that is not one node the user names them.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from stages.errors import StageError
from stages.graphdef import allowlist
from stages.trust.policy import verdict

NOT_OUTPUTS = {
    "Const",
    "Placeholder",
    "PlaceholderWithDefault",
    "NoOp",
    "Assert",
    "SaveV2",
    "RestoreV2",
    "VarHandleOp",
    "VariableV2",
    "Variable",
    "Print",
    "PrintV2",
}
VARIABLES = {"VariableV2", "Variable", "VarHandleOp"}


def check(graph, name: str, trusted: bool) -> dict:
    """Every op of the graph (and of its function library) on TF's allowlist, unless trusted."""
    return verdict(allowlist.check_graph(graph), name, trusted)


def read(path: Path, name: str):
    from google.protobuf.message import DecodeError
    from tensorflow.core.framework import graph_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    data = path.read_bytes()
    graph = graph_pb2.GraphDef()
    try:
        graph.ParseFromString(data)
        parsed = bool(graph.node) and all(node.op for node in graph.node)
    except DecodeError:
        parsed = False
    if not parsed:
        saved = saved_model_pb2.SavedModel()
        try:
            saved.ParseFromString(data)
            if saved.meta_graphs and saved.meta_graphs[0].graph_def.node:
                raise StageError(
                    f"{name} is a SavedModel's saved_model.pb, not a frozen graph: pass the SavedModel's directory"
                )
        except DecodeError:
            pass
        raise StageError(f"{name} is not a frozen TF GraphDef (truncated, or another format with a .pb name)")
    variables = [node.name for node in graph.node if node.op in VARIABLES]
    if variables:
        raise StageError(
            f"{name} is not frozen: it holds variables ({', '.join(variables[:5])}); freeze it "
            f"(convert_variables_to_constants_v2) or convert its SavedModel instead"
        )
    return graph


def _check_named(names: list[str], nodes: dict, option: str, name: str, hint: list[str]) -> None:
    for wanted in names:
        if wanted not in nodes:
            close = difflib.get_close_matches(wanted, list(nodes), n=5)
            raise StageError(
                f"{option} names {wanted!r}, which is not a node of {name}"
                + (f"; close: {close}" if close else f"; candidates: {hint}")
            )


def endpoints(graph, name: str, inputs: list[str], outputs: list[str]) -> tuple[list[str], list[str]]:
    """The input placeholders and output nodes: the user's, else found in the graph."""
    nodes = {node.name: node for node in graph.node}
    placeholders = [node.name for node in graph.node if node.op == "Placeholder"]
    consumed = {ref.lstrip("^").split(":")[0] for node in graph.node for ref in node.input}
    ends = [node.name for node in graph.node if node.name not in consumed and node.op not in NOT_OUTPUTS]
    _check_named(inputs, nodes, "--inputs", name, placeholders)
    _check_named(outputs, nodes, "--outputs", name, ends)
    inputs = inputs or placeholders
    if not inputs:
        raise StageError(f"{name} has no Placeholder node to feed: name its inputs with --inputs")
    if not outputs:
        if len(ends) != 1:
            found = (
                f"it ends in {len(ends)} nodes: {', '.join(f'{n} ({nodes[n].op})' for n in ends[:12])}"
                if ends
                else "no node is left unread"
            )
            raise StageError(f"cannot tell the outputs of {name}: {found}; name them with --outputs a,b")
        outputs = ends
    return inputs, outputs


def shape_and_dtype(shape, dtype: int) -> tuple[list | None, str]:
    """A TensorShapeProto and a DataType as (dims with None for unknown, or None for an unknown rank; dtype name)."""
    import tensorflow as tf

    dims = None if shape.unknown_rank else [None if d.size < 0 else d.size for d in shape.dim]
    return dims, tf.dtypes.as_dtype(dtype).name


def placeholder(graph, input_name: str) -> tuple[list, str]:
    """(dims with None for unknown, dtype name) of a Placeholder node."""
    node = next(node for node in graph.node if node.name == input_name)
    return shape_and_dtype(node.attr["shape"].shape, node.attr["dtype"].type)


def function(graph, inputs: list[str], outputs: list[str]):
    """The graph as a TF2 function of the inputs, returning the outputs in order."""
    import tensorflow as tf

    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph, name=""), [])
    element = wrapped.graph.as_graph_element
    return wrapped.prune([element(f"{n}:0") for n in inputs], [element(f"{n}:0") for n in outputs])
