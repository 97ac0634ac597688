"""tf2onnx's command line, run in this runtime, for the sources it reads from files
(SavedModel, frozen GraphDef, TFLite): one place that runs it, checks its model and
puts the ONNX graph's tensor names into the manifest."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnx

from stages.errors import StageError


def convert(source_args: list[str], out: Path, name: str, opset: int) -> onnx.ModelProto:
    """`python -m tf2onnx.convert <source_args> --opset N --output out`; the checked model."""
    done = subprocess.run([sys.executable, "-m", "tf2onnx.convert", *source_args, "--opset", str(opset),
                           "--output", str(out)], capture_output=True, text=True)
    if done.returncode != 0 or not out.is_file():
        errors = [line for line in done.stderr.splitlines() if "Error" in line] or done.stderr.splitlines()[-1:]
        print(done.stderr[-4000:], file=sys.stderr)
        raise StageError(f"tf2onnx could not convert {name}: {' '.join(errors[-1:])}")
    proto = onnx.load(str(out))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise StageError(f"the ONNX model tf2onnx made of {name} fails onnx.checker: "
                         f"{str(exc).splitlines()[0]}") from None
    return proto


def renamed(specs: list[dict], values) -> list[dict]:
    """The manifest's tensor specs, in order, named as the ONNX graph's inputs or outputs."""
    return [{**spec, "name": value.name} for value, spec in zip(values, specs)]
