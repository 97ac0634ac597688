"""The PyTorch emitter's handlers, one per ONNX op type, registered in OPS
(stages/torch/from_onnx/table.py) by the modules below.

A handler takes the graph being built (from_onnx/graph.py) and an ONNX node, and returns the fx node of
each of the node's outputs. What torch cannot express exactly is refused (stages.onnx.emitter.Unsupported,
naming the op and the node), never approximated.
"""

from __future__ import annotations

from stages.torch.from_onnx.ops import control, elementwise, nn, recurrent, reduce, resize, shape  # noqa: F401
