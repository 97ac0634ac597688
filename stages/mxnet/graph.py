"""Edits of an MXNet symbol's JSON graph that keep it loadable.

Removing nodes means renumbering every input reference, `arg_nodes` and
`heads`; `rebuild` does that once for every edit, and `canonical` round-trips
the result through MXNet so `node_row_ptr` and friends are regenerated.
"""

from __future__ import annotations

import difflib
import json

import mxnet as mx

from stages.errors import StageError

TRUE = ("true", "1")
# Elementwise scalar ops that insightface-style models bake in right after `data`.
AFFINE_OPS = ("_minus_scalar", "_plus_scalar", "_mul_scalar", "_div_scalar")


def attrs(node: dict) -> dict:
    return node.setdefault("attrs", node.pop("attr", None) or node.pop("param", None) or {})


def index_of(graph: dict, name: str) -> int | None:
    for index, node in enumerate(graph["nodes"]):
        if node["name"] == name:
            return index
    return None


def consumers(graph: dict, index: int) -> list[int]:
    return [i for i, node in enumerate(graph["nodes"]) if any(ref[0] == index for ref in node["inputs"])]


def rewire(graph: dict, old: int, new: int) -> None:
    """Every reference to node `old` now points at node `new`."""
    for node in graph["nodes"]:
        node["inputs"] = [[new if ref[0] == old else ref[0], *ref[1:]] for ref in node["inputs"]]
    graph["heads"] = [[new if ref[0] == old else ref[0], *ref[1:]] for ref in graph["heads"]]


def rebuild(graph: dict) -> dict:
    """Drop nodes no head depends on and renumber the rest, keeping topological order."""
    nodes = graph["nodes"]
    reachable, stack = set(), [ref[0] for ref in graph["heads"]]
    while stack:
        index = stack.pop()
        if index not in reachable:
            reachable.add(index)
            stack.extend(ref[0] for ref in nodes[index]["inputs"])
    kept = sorted(reachable)
    renumber = {old: new for new, old in enumerate(kept)}
    new_nodes = []
    for old in kept:
        node = dict(nodes[old])
        node["inputs"] = [[renumber[ref[0]], *ref[1:]] for ref in node["inputs"]]
        new_nodes.append(node)
    return {
        "nodes": new_nodes,
        "arg_nodes": [i for i, node in enumerate(new_nodes) if node["op"] == "null"],
        "heads": [[renumber[ref[0]], *ref[1:]] for ref in graph["heads"]],
        "attrs": graph.get("attrs", {}),
    }


def canonical(graph: dict) -> tuple[dict, mx.sym.Symbol]:
    symbol = mx.sym.load_json(json.dumps(rebuild(graph)))
    return json.loads(symbol.tojson()), symbol


def unknown_name(what: str, name: str, names: list[str]) -> StageError:
    close = difflib.get_close_matches(name, names, n=5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return StageError(f"no {what} named {name!r} in the symbol{hint}")


def strip_affine_chain(graph: dict, input_name: str) -> dict | None:
    """Remove the scalar-op chain right after an input; returns its mean/scale and removed nodes."""
    start = index_of(graph, input_name)
    current, removed, a, b = start, [], 1.0, 0.0
    while True:
        users = consumers(graph, current)
        if len(users) != 1 or any(ref[0] == current for ref in graph["heads"]):
            break
        node = graph["nodes"][users[0]]
        if node["op"] not in AFFINE_OPS or len(node["inputs"]) != 1:
            break
        scalar = float(attrs(node)["scalar"])
        if node["op"] == "_minus_scalar":
            b -= scalar
        elif node["op"] == "_plus_scalar":
            b += scalar
        elif node["op"] == "_mul_scalar":
            a, b = a * scalar, b * scalar
        elif scalar != 0:
            a, b = a / scalar, b / scalar
        removed.append(node["name"])
        current = users[0]
    if not removed or a == 0:
        return None
    rewire(graph, current, start)
    return {"mean": -b / a, "scale": a, "removed": removed}


def fix_gamma(graph: dict) -> list[tuple[str, str]]:
    """BatchNorm with fix_gamma=True (MXNet's default) ignores gamma; make that explicit.

    Returns (batchnorm node, gamma parameter) pairs whose gamma must become 1.
    """
    fixed = []
    for node in graph["nodes"]:
        if node["op"] != "BatchNorm":
            continue
        node_attrs = attrs(node)
        if str(node_attrs.get("fix_gamma", "True")).lower() in TRUE:
            node_attrs["fix_gamma"] = "False"
            gamma = graph["nodes"][node["inputs"][1][0]]["name"]
            fixed.append((node["name"], gamma))
    return fixed


def explicit_flatten(graph: dict) -> list[str]:
    """FullyConnected defaults to flatten=True in MXNet; the ONNX exporter assumes False."""
    changed = []
    for node in graph["nodes"]:
        if node["op"] == "FullyConnected" and "flatten" not in attrs(node):
            attrs(node)["flatten"] = "True"
            changed.append(node["name"])
    return changed
