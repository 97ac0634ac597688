"""Bare hop (mxnet runtime): ONNX -> MXNet with MXNet's own importer, mx.contrib.onnx.import_model.

    python bench/bare/mxnet_import.py MODEL.onnx

The tool a user would reach for (and the one emit/mxnet replaces: it ignores ceil_mode, pads
AveragePool as count_include_pad=1 and leaves BatchNorm at eps 1e-3 where the attribute is absent).
Times the import and the checkpoint save; where the importer fails, its error is the result (exit 1).
"""

from __future__ import annotations

import argparse

from timing import emit, fail, scratch, timed

parser = argparse.ArgumentParser()
parser.add_argument("onnx")
args = parser.parse_args()
import mxnet as mx  # noqa: E402

with scratch() as tmp:

    def convert():
        sym, arg, aux = mx.contrib.onnx.import_model(args.onnx)
        mx.model.save_checkpoint(str(tmp / "model"), 0, sym, arg, aux)

    try:
        seconds = timed(convert)
    except Exception as exc:  # noqa: BLE001 - the bare tool's own failure is the result
        fail(f"mx.contrib.onnx.import_model failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    else:
        emit(seconds, "mx.contrib.onnx.import_model + save_checkpoint")
