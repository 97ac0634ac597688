"""Bare hop (tfjs runtime): TF SavedModel -> TFJS graph model with the tensorflowjs_converter command.

    python bench/bare/tfjs_converter.py SAVED_MODEL_DIR [--signature KEY]

Times the whole tensorflowjs_converter process (its start-up and TF import included).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from timing import emit, expect, fail, run_cli, scratch

parser = argparse.ArgumentParser()
parser.add_argument("saved_model")
parser.add_argument("--signature", default="serving_default")
args = parser.parse_args()
command = Path(sys.executable).parent / "tensorflowjs_converter"
if not command.is_file():
    command = shutil.which("tensorflowjs_converter")
    if not command:
        fail("tensorflowjs_converter is not installed in this runtime")

with scratch() as tmp:
    out = tmp / "tfjs"
    seconds = run_cli(
        [
            str(command),
            "--input_format=tf_saved_model",
            "--output_format=tfjs_graph_model",
            f"--signature_name={args.signature}",
            args.saved_model,
            str(out),
        ],
        "tensorflowjs_converter",
    )
    expect(out / "model.json", "tensorflowjs_converter")
emit(seconds, "tensorflowjs_converter CLI")
