"""ONNX's allowlist: the standard domains (and the model's own functions, built of them).

ONNX's standard ops compute only; none opens a file or a socket. What else a node can name is an op of a
custom domain, which only a custom-op library loaded into the runtime could run: refused, naming the
domain, the op and the node.
"""

from __future__ import annotations

from stages.trust.policy import Found, verdict

DOMAINS = {
    "": "ONNX",
    "ai.onnx": "ONNX",
    "ai.onnx.ml": "ONNX-ML",
    "com.microsoft": "ONNX Runtime's contrib ops",  # computation kernels built into ONNX Runtime
}
MAX_DEPTH = 64


def _walk(graph, functions: set, where: str, depth: int, found: list[Found]) -> None:
    for index, node in enumerate(graph.node):
        node_name = node.name or f"{node.op_type}_{index}"
        if node.domain not in DOMAINS and (node.domain, node.op_type) not in functions:
            found.append(Found(f"{node.domain}::{node.op_type}", node_name, where))
        for attribute in node.attribute:
            for sub in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
                if depth < MAX_DEPTH:
                    _walk(sub, functions, f"{node_name}.{attribute.name}", depth + 1, found)


def check(model, name: str, trusted: bool) -> dict:
    """Refuse nodes of custom domains (unless trusted); what the load stage's manifest records."""
    functions = {(f.domain, f.name) for f in model.functions}
    found: list[Found] = []
    _walk(model.graph, functions, "", 0, found)
    for function in model.functions:
        for index, node in enumerate(function.node):
            if node.domain not in DOMAINS and (node.domain, node.op_type) not in functions:
                found.append(
                    Found(
                        f"{node.domain}::{node.op_type}",
                        node.name or f"{node.op_type}_{index}",
                        f"function {function.name}",
                    )
                )
    return verdict(found, name, trusted, "op of a custom domain")
