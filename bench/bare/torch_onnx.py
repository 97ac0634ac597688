"""Bare hop (torch runtime): TorchScript (.pt) or torch.export (.pt2) -> ONNX with
torch.onnx.export(dynamo=True), opset 18 (the dynamo exporter's lowest, which modelferry asks for).

The dynamo exporter takes no ScriptModule ("Failed to export the model with torch.export"):
a TorchScript module goes through torch's TS2EPConverter first, inside the timed call.

    python bench/bare/torch_onnx.py MODEL.pt --input-shape 1,3,224,224
"""

from __future__ import annotations

import argparse
import sys

import torch
from timing import emit, expect, scratch, timed

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--input-shape", required=True)
args = parser.parse_args()
example = (torch.rand(*(int(d) for d in args.input_shape.split(","))) * 255,)
if args.model.endswith(".pt2"):
    program = torch.export.load(args.model)
    converter = "torch.onnx.export(dynamo=True)"
    target = lambda: program  # noqa: E731
else:
    from torch._export.converter import TS2EPConverter

    script = torch.jit.load(args.model)
    converter = "TS2EPConverter + torch.onnx.export(dynamo=True)"
    target = lambda: TS2EPConverter(script, example).convert().module()  # noqa: E731

with scratch() as tmp:
    out = tmp / "model.onnx"
    try:
        seconds = timed(lambda: torch.onnx.export(target(), example, dynamo=True, opset_version=18).save(str(out)))
    except Exception as exc:  # torch's errors are pages long: the first line says what failed
        print(f"{converter} failed: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
    expect(out, "torch.onnx.export")
emit(seconds, converter)
