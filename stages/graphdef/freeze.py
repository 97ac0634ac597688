"""Freeze a TF1 checkpoint: the meta graph cut to the nodes the outputs need, each variable replaced by a
constant of its value in the checkpoint.

Nothing of the model runs: the MetaGraphDef is parsed, the subgraph taken by TF's graph_util (proto
work), and the values read by TF's checkpoint reader (the .index and .data files); the saver's
RestoreV2 ops, which `Saver.restore` would run, are not used.
"""

from __future__ import annotations

from pathlib import Path

from stages.contract import SERVING_SIGNATURE
from stages.errors import StageError

REF_VARIABLES = {"VariableV2", "Variable"}
RESOURCE = "VarHandleOp"
READS = {"ReadVariableOp"}


def meta_graph(path: Path, name: str):
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    try:
        meta.ParseFromString(path.read_bytes())
    except DecodeError:
        raise StageError(f"{name} is not a TF MetaGraphDef (truncated, or another format with a .meta name)") from None
    if not meta.graph_def.node:
        raise StageError(f"{name} holds no graph")
    return meta


def outputs_of(meta, given: list[str], name: str) -> list[str]:
    """The nodes to keep: --outputs, else those of the meta graph's one serving signature."""
    if given:
        return given
    signatures = [s for key, s in meta.signature_def.items() if key == SERVING_SIGNATURE] or list(
        meta.signature_def.values()
    )
    if len(signatures) == 1 and signatures[0].outputs:
        return [t.name.split(":")[0] for t in signatures[0].outputs.values()]
    raise StageError(
        f"{name} is a training checkpoint: name the outputs to freeze with --outputs a,b "
        f"(its graph holds the training ops too)"
    )


def freeze(meta, prefix: Path, outputs: list[str], name: str, weights: str):
    """The GraphDef that computes `outputs`, its variables made constants from the checkpoint at `prefix`
    (`weights`: the user's name for its .index, for errors)."""
    import tensorflow as tf
    from tensorflow.core.framework import graph_pb2

    nodes = {node.name for node in meta.graph_def.node}
    missing = [o for o in outputs if o not in nodes]
    if missing:
        raise StageError(f"--outputs names {missing}, not nodes of {name}")
    graph = tf.compat.v1.graph_util.extract_sub_graph(meta.graph_def, outputs)
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except Exception as exc:  # DataLossError, NotFoundError …: a damaged index or shard
        raise StageError(
            f"{weights}, the weights of {name}, cannot be read: {str(exc).splitlines()[0][:300]}"
        ) from None
    stored = reader.get_variable_to_dtype_map()
    frozen = graph_pb2.GraphDef()
    frozen.versions.CopyFrom(graph.versions)
    frozen.library.CopyFrom(graph.library)
    handles = {node.name for node in graph.node if node.op == RESOURCE}
    for node in graph.node:
        copy = frozen.node.add()
        if node.op in REF_VARIABLES or node.op == RESOURCE:
            key = (
                node.attr["shared_name"].s.decode() if node.op == RESOURCE and node.attr["shared_name"].s else node.name
            )
            if key not in stored:
                raise StageError(f"variable {node.name!r} of {name} has no value in the checkpoint")
            value = reader.get_tensor(key)
            copy.name, copy.op, copy.device = node.name, "Const", node.device
            copy.attr["dtype"].type = tf.dtypes.as_dtype(value.dtype).as_datatype_enum
            copy.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
            continue
        copy.CopyFrom(node)
        uses = [ref.split(":")[0].lstrip("^") for ref in node.input]
        if any(u in handles for u in uses):
            if node.op not in READS:
                raise StageError(
                    f"node {node.name!r} ({node.op}) of {name} uses a variable other than by reading it; "
                    f"freeze the graph by hand"
                )
            copy.op = "Identity"
            copy.attr["T"].type = node.attr["dtype"].type
            del copy.attr["dtype"]
        for key in ("T", "dtype"):  # a ref variable's readers take its base type once it is a constant
            if key in copy.attr and copy.attr[key].type > 100:
                copy.attr[key].type -= 100
    return frozen
