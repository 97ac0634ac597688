"""Bare hop (coreml runtime): TorchScript -> Core ML ML program with coremltools.convert, fp32.

    python bench/bare/coremltools_convert.py MODEL.pt --input-shape 1,3,224,224

Times ct.convert and save (the TorchScript loaded first), as emit/coreml calls them: an ML program,
compute_precision FLOAT32, one sample's shape, skip_model_load (no Core ML runtime on Linux).
"""

from __future__ import annotations

import argparse
import sys

from timing import emit, expect, scratch, timed

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--input-shape", required=True)
args = parser.parse_args()
import coremltools as ct  # noqa: E402
import torch  # noqa: E402

script = torch.jit.load(args.model)
shape = tuple(int(d) for d in args.input_shape.split(","))

with scratch() as tmp:

    def convert():
        ct.convert(
            script,
            inputs=[ct.TensorType(shape=shape)],
            convert_to="mlprogram",
            compute_precision=ct.precision.FLOAT32,
            skip_model_load=True,
        ).save(str(tmp / "model.mlpackage"))

    try:
        seconds = timed(convert)
    except Exception as exc:  # coremltools' errors carry a traceback: the last line says what failed
        print(f"coremltools.convert failed: {str(exc).strip().splitlines()[-1]}", file=sys.stderr)
        sys.exit(1)
    expect(tmp / "model.mlpackage", "coremltools.convert")
emit(seconds, "coremltools.convert (TorchScript, mlprogram fp32)")
