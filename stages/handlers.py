"""One op-handler registry for every emitter modelferry writes itself: ONNX -> TF (stages/tfops), ONNX ->
MXNet, Caffe and PyTorch (stages/onnx/emitter.OpTable), and Caffe -> ONNX (stages/caffe/to_onnx).

Handlers are registered per op and per version range, as tf2onnx registers its `version_N` handlers: an
ONNX op by its type (`domain:type` outside ONNX's own domain) and the opsets a handler is right for
(`since`, `until`, inclusive); a Caffe layer by its type. `find` picks the handler for a node at the
model's opset; `listing` says what the registry covers, and docs/op-support.md is generated from the
listings (stages/op_support.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class Entry:
    op: str
    since: int
    until: int | None
    handler: Callable

    def covers(self, version: int | None) -> bool:
        return version is None or (self.since <= version and (self.until is None or version <= self.until))


class Registry:
    """One emitter's handlers. `name`: the emitter, as the user knows it; `reads`: what its ops are
    (ONNX's, or Caffe's layer types)."""

    def __init__(self, name: str, reads: str = "ONNX"):
        self.name, self.reads = name, reads
        self.entries: dict[str, list[Entry]] = {}

    def handles(self, *ops: str, since: int = 1, until: int | None = None):
        """Register the decorated function for `ops`, at versions `since` to `until` (inclusive)."""

        def register(fn):
            for op in ops:
                taken = [
                    e for e in self.entries.get(op, []) if e.since <= (until or 10**6) and since <= (e.until or 10**6)
                ]
                if taken:
                    raise ValueError(
                        f"{self.name}: {op} has a handler at versions {taken[0].since}-{taken[0].until or ''} already"
                    )
                self.entries.setdefault(op, []).append(Entry(op, since, until, fn))
            return fn

        return register

    def find(self, op: str, domain: str = "", version: int | None = None) -> Callable | None:
        """The handler of `op` (in `domain`) right for `version` (None: any), or None."""
        key = op if domain in DEFAULT_DOMAINS else f"{domain}:{op}"
        return next((e.handler for e in self.entries.get(key, []) if e.covers(version)), None)

    def __contains__(self, op: str) -> bool:
        return op in self.entries

    def ops(self) -> list[str]:
        return sorted(self.entries)

    def listing(self) -> list[dict]:
        """Every (op, version range, handler) registered, by op."""
        return [
            {"op": e.op, "since": e.since, "until": e.until, "handler": f"{e.handler.__module__}.{e.handler.__name__}"}
            for op in self.ops()
            for e in sorted(self.entries[op], key=lambda e: e.since)
        ]
