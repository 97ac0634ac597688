"""One refusal for every format: the ops of a graph that are not on its format's allowlist.

A model is a program: TensorFlow's own security guidance says so, and TorchScript and torch.export graphs
are no different. Each format's allowlist (beside its loader: stages/<framework>/allowlist.py) names the
computation it may do; anything else (files, the network, processes, Python callbacks, printing to a
file) is refused before any framework runs the graph, naming the op, its node and the user's file.
`--trust-custom-code` lets such a model through, and the load stage's manifest (and so the report) says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from stages.errors import StageError

SHOWN = 4  # refused ops named in the one-line error


@dataclass(frozen=True)
class Found:
    """An op outside the allowlist: its type, its node, and where the node is (a function, a method)."""

    op: str
    node: str
    where: str = ""

    def __str__(self) -> str:
        inside = f" in {self.where}" if self.where else ""
        return f"{self.op} (node {self.node!r}{inside})"


class RefusedOps(StageError):
    """The model holds ops that could touch files, the network or processes."""


def verdict(found: list[Found], name: str, trusted: bool, what: str = "op") -> dict:
    """Raise RefusedOps for what the allowlist does not hold, unless trusted; returns what the load stage's
    manifest records under metrics.trust."""
    found = list(dict.fromkeys(found))
    if found and not trusted:
        listed = "; ".join(str(f) for f in found[:SHOWN]) + (
            f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        )
        raise RefusedOps(
            f"{name} holds {what}s outside modelferry's allowlist of computation, which could touch "
            f"files, the network or processes when the graph runs: {listed}. Refused; pass "
            f"--trust-custom-code only for files you trust"
        )
    record = {"custom_code_trusted": trusted}
    if found:
        record["let_through"] = [str(f) for f in found[:50]]
    return record
