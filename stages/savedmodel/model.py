"""Open a TF SavedModel's serving signature, after its graph has been checked against TF's allowlist."""

from __future__ import annotations

from pathlib import Path

from stages.errors import StageError
from stages.graphdef import allowlist
from stages.trust.policy import verdict


def meta_graph(path: Path, name: str, tags: list[str] | None = None):
    """The meta graph of saved_model.pb, parsed (no op runs): the one of the tag set `tags`, else the one
    tagged `serve`, else the only one."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString((Path(path) / "saved_model.pb").read_bytes())
    except (DecodeError, OSError) as exc:
        raise StageError(f"{name} is not a readable TF SavedModel: its saved_model.pb does not parse ({exc})") from None
    if not saved.meta_graphs:
        raise StageError(f"{name} is not a readable TF SavedModel: its saved_model.pb holds no graph")
    sets = [sorted(m.meta_info_def.tags) for m in saved.meta_graphs]
    if tags:
        chosen = [m for m in saved.meta_graphs if sorted(m.meta_info_def.tags) == sorted(tags)]
        if not chosen:
            raise StageError(
                f"{name} has no meta graph tagged {','.join(tags)}; its tag sets are {sets} (choose one with --tags)"
            )
        return chosen[0]
    tagged = [m for m in saved.meta_graphs if "serve" in m.meta_info_def.tags]
    if not tagged and len(saved.meta_graphs) > 1:
        raise StageError(f"{name} has no meta graph tagged serve; its tag sets are {sets} (choose one with --tags)")
    return (tagged or list(saved.meta_graphs))[0]


def tag_set(path: Path, name: str, tags: list[str] | None = None) -> list[str]:
    """The tags of the meta graph that is read."""
    return sorted(meta_graph(path, name, tags).meta_info_def.tags)


def check(path: Path, name: str, trusted: bool, tags: list[str] | None = None) -> dict:
    """Every op of the SavedModel's graph and functions on TF's allowlist (unless trusted), and its weights
    there; returns what the trust policy recorded."""
    graph = meta_graph(path, name, tags)
    record = verdict(allowlist.check_saved_model(graph), name, trusted)
    variables = any(node.op in ("VarHandleOp", "VariableV2") for node in graph.graph_def.node)
    if variables and not (Path(path) / "variables" / "variables.index").is_file():
        raise StageError(
            f"{name} has variables but no variables/variables.index beside its saved_model.pb: its "
            f"weights are missing; copy the whole SavedModel directory"
        )
    return record


def signature_def(path, name: str, key: str, tags: list[str] | None = None):
    """The SignatureDef `key` as saved_model.pb holds it: its inputs' and outputs' names, dtypes and shapes,
    read without loading the SavedModel (loading restores every function and variable: seconds)."""
    graph = meta_graph(path, name, tags)
    signatures = sorted(k for k in graph.signature_def if not k.startswith("__"))  # not TF's __saved_model_init_op
    if key not in signatures:
        raise StageError(f"{name} has no signature {key!r}; it has {signatures} (choose one with --signature)")
    return graph.signature_def[key]


def signature(path, name: str, key: str, tags: list[str] | None = None):
    """The SavedModel loaded, and its signature `key` (which signature_def checks is there before anything loads)."""
    import tensorflow as tf

    signature_def(path, name, key, tags)
    try:
        loaded = tf.saved_model.load(str(path), tags=tags or None)
    except Exception as exc:  # TF raises many types for a damaged SavedModel (IndexError for variables cut short)
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise StageError(
            f"{name} is not a readable TF SavedModel: {type(exc).__name__}: {' '.join(lines[:2])[:400]}"
        ) from None
    return loaded, loaded.signatures[key]
