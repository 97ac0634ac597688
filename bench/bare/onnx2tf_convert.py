"""Bare hop (tf runtime): ONNX -> TFLite fp32 and SavedModel with onnx2tf.convert (it writes both).

    python bench/bare/onnx2tf_convert.py MODEL.onnx --input image:1,224,224,3 [--nhwc image]

onnx2tf reads its calibration sample from the working directory (else downloads it) and
simplifies its input in place: both are set up before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx2tf
from timing import emit, expect, scratch, timed

SAMPLE = "calibration_image_sample_data_20x128x128x3_float32.npy"

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--input", action="append", default=[], help="name:1,3,224,224 (repeat per input)")
parser.add_argument("--nhwc", action="append", default=[], help="an input that is channels-last already")
args = parser.parse_args()
# onnx2tf finds onnxsim through PATH.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

with scratch() as tmp:
    os.chdir(tmp)
    np.save(tmp / SAMPLE, np.random.default_rng(0).uniform(0, 1, (20, 128, 128, 3)).astype(np.float32))
    model = tmp / "model.onnx"
    shutil.copyfile(args.model, model)
    out = tmp / "saved_model"
    seconds = timed(
        lambda: onnx2tf.convert(
            input_onnx_file_path=str(model),
            output_folder_path=str(out),
            overwrite_input_shape=args.input or None,
            keep_nwc_or_nhwc_or_ndhwc_input_names=args.nhwc or None,
            output_signaturedefs=True,
            copy_onnx_input_output_names_to_tflite=True,
            non_verbose=True,
        )
    )
    expect(out / "model_float32.tflite", "onnx2tf")
    expect(out / "saved_model.pb", "onnx2tf")
emit(seconds, "onnx2tf.convert")
