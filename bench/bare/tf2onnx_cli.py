"""Bare hop (tf runtime): SavedModel, frozen GraphDef or TFLite -> ONNX with tf2onnx's command line.

    python bench/bare/tf2onnx_cli.py -- --saved-model DIR [--signature_def KEY]
    python bench/bare/tf2onnx_cli.py -- --graphdef FILE.pb --inputs image:0 --outputs Identity:0
    python bench/bare/tf2onnx_cli.py -- --tflite FILE.tflite

Times the whole `python -m tf2onnx.convert` process (its start-up and TF import included).
"""

from __future__ import annotations

import sys

from timing import emit, expect, run_cli, scratch

source_args = [a for a in sys.argv[1:] if a != "--"]
with scratch() as tmp:
    out = tmp / "model.onnx"
    seconds = run_cli(
        [sys.executable, "-m", "tf2onnx.convert", *source_args, "--opset", "13", "--output", str(out)],
        "python -m tf2onnx.convert",
    )
    expect(out, "tf2onnx")
emit(seconds, "tf2onnx CLI")
