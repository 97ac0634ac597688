"""emit/onnx2tf-direct: ONNX -> TFLite (fp32) with onnx2tf 2's flatbuffer_direct backend.

onnx2tf 2 lowers the ONNX graph to its own IR and writes the TFLite FlatBuffer itself: no TensorFlow is
imported, and the write takes a fraction of a second where TF's converter takes seconds. It moves
channels-first inputs channels-last, as onnx2tf 1 does, and keeps the ONNX graph's input and output
names in the file (-coion). It converts a copy of the graph with TF-safe names (stages/onnx/names.py);
the file's tensors are then matched to the model's by those names (stages/tflite/signature.py)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from stages.context import StageContext
from stages.errors import StageError
from stages.onnx import names
from stages.onnx2tf.convert import kept_layouts
from stages.tflite.signature import describe

TOOLS = ("onnx2tf", "onnx", "ai-edge-litert")
TFLITE = "model_float32.tflite"
PASSES = ("gelu", "reduce-l2")   # as for onnx2tf 1 (stages/onnx2tf/emit.py)


def argv(onnx_path: Path, out: Path, inputs: list[dict]) -> list[str]:
    """onnx2tf's command line: the inputs at the signature's shapes, those onnx2tf must not move channels-last
    kept as they are (stages/onnx2tf/convert.kept_layouts, as for onnx2tf 1)."""
    args = [sys.executable, "-m", "onnx2tf", "-i", str(onnx_path), "-o", str(out), "-coion", "-n",
            "-tb", "flatbuffer_direct",
            "-ois", *(f"{spec['name']}:{','.join(str(d) if isinstance(d, int) else '1' for d in spec['shape'])}"
                      for spec in inputs)]
    channels_last, no_channels = kept_layouts(inputs)
    return args + (["-kt", *channels_last] if channels_last else []) + (["-k", *no_channels] if no_channels else [])


def _failure(log: str) -> str:
    """onnx2tf's own last words: its ERROR line, else the last line of a traceback."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    said = [line for line in lines if "ERROR" in line or line.startswith(("ValueError", "NotImplementedError",
                                                                            "RuntimeError", "KeyError"))]
    return (said or lines or ["no output"])[-1][:400]


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    with tempfile.TemporaryDirectory(prefix="onnx2tf2-") as tmp:
        work = Path(tmp)
        path, inputs, outputs, legalized = names.safe_copy(source.file("model"), work / "model.onnx",
                                                           manifest["inputs"], manifest["outputs"], PASSES)
        done = subprocess.run(argv(path, work / "out", inputs), cwd=work, capture_output=True, text=True)
        made = work / "out" / TFLITE   # onnx2tf names it after the graph's file, model.onnx
        if done.returncode != 0 or not made.is_file():
            raise StageError(f"onnx2tf 2 (flatbuffer_direct) could not convert {what}: "
                             f"{_failure(done.stdout + done.stderr)}")
        shutil.copyfile(made, ctx.out / TFLITE)
    inputs, outputs = describe(ctx.out / TFLITE, inputs, outputs, moved=True)
    return {**manifest, "format": "tflite", "precision": "fp32", "inputs": inputs, "outputs": outputs,
            "files": {"model": TFLITE, **source.carry_to(ctx.out)},
            "metrics": {"bytes": (ctx.out / TFLITE).stat().st_size},
            **({"legalized": {**manifest.get("legalized", {}), **legalized}} if legalized else {})}
