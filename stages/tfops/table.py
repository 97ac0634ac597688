"""The op table of modelferry's own ONNX -> TF translation: each handler module (stages/tfops/ops/)
registers in it with `@op("Relu", since=…, until=…)`; the evaluator (stages/tfops/graph.py) looks a node's
handler up in it."""

from __future__ import annotations

from stages.handlers import Registry

OPS = Registry("ONNX -> TF")


def handler_for(op_type: str, domain: str, version: int | None = None):
    """The handler of an ONNX op at its opset: keyed by its type in the default domain, `domain:type` in
    any other."""
    return OPS.find(op_type, domain, version)


op = OPS.handles  # @op("Relu", since=…, until=…): the name every handler module registers with
