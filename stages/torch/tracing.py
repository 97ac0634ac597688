"""Tracing without a Python stack trace per graph node.

torch.export and the dynamo ONNX exporter record, for every FX node they create, the Python stack that created
it (`CapturedTraceback.extract()` and its symbolization, file lines read through linecache). With a dynamic
batch the trace creates tens of thousands of nodes for the symbolic sizes, most of them dropped later: on
MobileNetV2 from TorchScript that bookkeeping was a third of torch.onnx.export's time (19.5 s → 12.9 s; the ONNX
graph, its names and its metadata keys the same). No stage reads a node's stack trace, and the artifacts carry
their names from the module paths (nn_module_stack), which stay.
"""

from __future__ import annotations


def without_stack_traces() -> None:
    import torch.fx.config

    torch.fx.config.do_not_emit_stack_traces = True
