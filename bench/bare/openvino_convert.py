"""Bare hop (openvino runtime): ONNX -> OpenVINO IR with openvino.convert_model and save_model.

    python bench/bare/openvino_convert.py MODEL.onnx

Times the two calls (OpenVINO imported first), fp32 weights, as emit/openvino makes them.
"""

from __future__ import annotations

import argparse

from timing import emit, expect, scratch, timed

parser = argparse.ArgumentParser()
parser.add_argument("onnx")
args = parser.parse_args()
import openvino as ov  # noqa: E402

with scratch() as tmp:
    seconds = timed(lambda: ov.save_model(ov.convert_model(args.onnx), str(tmp / "model.xml"), compress_to_fp16=False))
    expect(tmp / "model.bin", "openvino.save_model")
emit(seconds, "openvino.convert_model + save_model")
