"""PyTorch's allowlist: the ops a TorchScript or torch.export archive may call, read before torch loads it.

Loading runs code: `torch.jit.load` compiles the archive's code/ and runs `__setstate__` methods, and
`torch.export.load` builds the graph. So the checks read the archive as text first:
- TorchScript: every file of code/ (every method of every module and class, `__setstate__` included) is
  parsed as the Python-like source it is, and every op it names (`torch.x`, `ops.ns.x`, `torch.ops.ns.x`,
  `torch.classes…`) must be on the list. After loading, the inlined graph of forward() is checked again.
- torch.export: every node target of models/*.json, in every nested graph (cond and while_loop branches).
Allowed: ATen and the primitives (tensor computation), minus the ATen ops that take a file name
(`aten::from_file` maps or reads any file, `aten::save` writes one); Python's operator module (the symbolic
shapes' arithmetic); the control-flow operators. Not allowed: distributed (c10d: the network), profiler,
debug and custom namespaces, custom classes.
"""

from __future__ import annotations

import ast
import json
import zipfile
from functools import lru_cache
from pathlib import Path

from stages.trust.policy import Found

NAMESPACES = frozenset({"aten", "prim", "prims", "quantized", "_quantized"})
# ATen ops that open a file by name; also found by their schemas (a `str` argument naming a file or path).
FILE_OPS = frozenset({"from_file", "save"})
HIGHER_ORDER = frozenset(
    {"cond", "while_loop", "map_impl", "scan", "wrap_with_set_grad_enabled", "wrap_with_autocast", "associative_scan"}
)
# Targets of torch.export nodes that are not OpOverloads: Python's operator module and torch's symbolic helpers.
PYTHON_TARGETS = ("_operator.", "operator.", "torch.sym_", "torch._sym_", "math.")
PYTHON_TARGETS_EXACT = frozenset(
    {"torch._assert", "torch._assert_async", "torch._check", "torch._check_is_size", "builtins.getattr"}
)


@lru_cache(maxsize=None)
def file_ops() -> frozenset[str]:
    """ATen ops whose schema takes a file name: FILE_OPS and any the installed torch adds."""
    import torch

    found = set(FILE_OPS)
    for schema in torch._C._jit_get_all_schemas():
        namespace, _, op = schema.name.partition("::")
        if namespace in NAMESPACES and any(
            str(a.type) in ("str", "Optional[str]") and a.name.lower() in ("filename", "file", "path", "filepath")
            for a in schema.arguments
        ):
            found.add(op)
    return frozenset(found)


def _op_allowed(namespace: str, op: str, refused_ops: frozenset[str]) -> bool:
    return namespace in NAMESPACES and op not in refused_ops


def _dotted(node) -> str | None:
    """`torch.ops.aten.add` for an attribute chain on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _code_refusal(dotted: str, refused_ops: frozenset[str]) -> str | None:
    """Why a name in TorchScript code is refused (the op it names), or None."""
    parts = dotted.split(".")
    if parts[0] == "ops" and len(parts) >= 3:
        namespace, op = parts[1], parts[2]
    elif parts[:2] == ["torch", "ops"] and len(parts) >= 4:
        namespace, op = parts[2], parts[3]
    elif parts[:2] == ["torch", "classes"] and len(parts) >= 3:
        return f"torch.classes.{'.'.join(parts[2:4])}"
    elif parts[0] == "torch" and len(parts) == 2:
        namespace, op = "aten", parts[1]
    else:
        return None
    return None if _op_allowed(namespace, op, refused_ops) else f"{namespace}::{op}"


def _entries(path: Path, folder: str, suffix: str):
    """(name inside the folder, bytes) of the archive's entries under `<root>/<folder>/` that end in `suffix`."""
    with zipfile.ZipFile(path) as archive:
        for entry in archive.namelist():
            if f"/{folder}/" in entry and entry.endswith(suffix):
                yield entry.split(f"/{folder}/", 1)[1], archive.read(entry)


def check_torchscript_code(path: Path) -> list[Found]:
    """The ops outside the allowlist that the archive's code names (read as text, never run)."""
    refused_ops = file_ops()
    found = []
    for where, data in _entries(path, "code", ".py"):
        try:
            tree = ast.parse(data.decode("utf-8", "replace"))
        except SyntaxError as exc:
            found.append(Found("unreadable code", f"line {exc.lineno}", where))
            continue
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for node in ast.walk(function):
                dotted = _dotted(node) if isinstance(node, ast.Attribute) else None
                refusal = dotted and _code_refusal(dotted, refused_ops)
                if refusal:
                    found.append(Found(refusal, f"{function.name}, line {node.lineno}", where))
    return found


def check_torchscript_graph(graph, method: str = "forward") -> list[Found]:
    """The nodes of a loaded module's inlined graph whose op is outside the allowlist."""
    refused_ops = file_ops()
    found = []

    def walk(block_nodes):
        for node in block_nodes:
            namespace, _, op = node.kind().partition("::")
            if not _op_allowed(namespace, op, refused_ops):
                found.append(Found(node.kind(), node.outputsAt(0).debugName() if node.outputsSize() else op, method))
            for block in node.blocks():
                walk(block.nodes())

    walk(graph.nodes())
    return found


def _export_nodes(value):
    """Every node (a dict with a target) of a serialized torch.export graph, nested graphs included."""
    if isinstance(value, dict):
        if "target" in value and "inputs" in value:
            yield value
        for item in value.values():
            yield from _export_nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _export_nodes(item)


def _target_allowed(target: str, refused_ops: frozenset[str]) -> bool:
    if target in PYTHON_TARGETS_EXACT or target.startswith(PYTHON_TARGETS):
        return True
    parts = target.split(".")
    if parts[:2] != ["torch", "ops"] or len(parts) < 4:
        return False
    namespace, op = parts[2], parts[3]
    return op in HIGHER_ORDER if namespace == "higher_order" else _op_allowed(namespace, op, refused_ops)


def check_export(path: Path) -> list[Found]:
    """The nodes of a torch.export archive's graphs (models/*.json) whose target is outside the allowlist."""
    refused_ops = file_ops()
    found = []
    for where, data in _entries(path, "models", ".json"):
        try:
            program = json.loads(data)
        except ValueError:
            found.append(Found("unreadable graph", f"models/{where}"))
            continue
        for node in _export_nodes(program):
            target = str(node["target"])
            if not _target_allowed(target, refused_ops):
                found.append(Found(target, str(node.get("name", "?")), f"models/{where}"))
    return found
