"""Bare hop (mxnet runtime): MXNet checkpoint -> ONNX with mx.onnx.export_model.

python bench/bare/mxnet_onnx.py PREFIX-symbol.json PREFIX-0000.params --input-shape 1,3,224,224
"""

from __future__ import annotations

import argparse

import mxnet as mx
import numpy as np
from timing import emit, expect, scratch, timed

parser = argparse.ArgumentParser()
parser.add_argument("symbol")
parser.add_argument("params")
parser.add_argument("--input-shape", required=True)
args = parser.parse_args()
shape = tuple(int(d) for d in args.input_shape.split(","))

with scratch() as tmp:
    out = tmp / "model.onnx"
    seconds = timed(
        lambda: mx.onnx.export_model(
            args.symbol, args.params, in_shapes=[shape], in_types=[np.float32], onnx_file_path=str(out)
        )
    )
    expect(out, "mx.onnx.export_model")
emit(seconds, "mx.onnx.export_model")
