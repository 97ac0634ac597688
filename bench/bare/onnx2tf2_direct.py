"""Bare hop (onnx2tf2 runtime): ONNX -> TFLite fp32 with onnx2tf 2's flatbuffer_direct backend, as a command.

    python bench/bare/onnx2tf2_direct.py MODEL.onnx --input image:1,3,224,224

Times `python -m onnx2tf` as a whole process (its imports included) on a copy of the file: onnx2tf
simplifies the file it is given in place.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from timing import emit, expect, run_cli, scratch

parser = argparse.ArgumentParser()
parser.add_argument("onnx")
parser.add_argument("--input", action="append", default=[], help="name:1,3,224,224 (repeat per input)")
args = parser.parse_args()

with scratch() as tmp:
    shutil.copyfile(args.onnx, tmp / "model.onnx")
    seconds = run_cli(
        [
            sys.executable,
            "-m",
            "onnx2tf",
            "-i",
            str(tmp / "model.onnx"),
            "-o",
            str(tmp / "out"),
            "-coion",
            "-n",
            "-tb",
            "flatbuffer_direct",
            "-ois",
            *args.input,
        ],
        "onnx2tf 2",
    )
    expect(tmp / "out" / "model_float32.tflite", "onnx2tf 2")
emit(seconds, "onnx2tf 2 flatbuffer_direct (command)")
