"""Bare hop (ncnn runtime): ONNX -> ncnn .param + .bin with the pnnx binary of the pinned wheel.

    python bench/bare/pnnx_convert.py MODEL.onnx --input-shape 1,3,224,224

Times the binary's command line (fp16=0, as emit/ncnn runs it), its own start-up included.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from pathlib import Path

from timing import emit, expect, run_cli, scratch

parser = argparse.ArgumentParser()
parser.add_argument("onnx")
parser.add_argument("--input-shape", required=True)
args = parser.parse_args()
binary = Path(next(iter(importlib.util.find_spec("pnnx").submodule_search_locations))) / "pnnx"

with scratch() as tmp:
    shutil.copyfile(args.onnx, tmp / "model.onnx")
    seconds = run_cli([str(binary), str(tmp / "model.onnx"), f"inputshape=[{args.input_shape}]f32", "fp16=0"], "pnnx")
    expect(tmp / "model.ncnn.param", "pnnx")
emit(seconds, "pnnx (binary)")
