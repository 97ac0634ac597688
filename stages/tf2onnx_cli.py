"""tf2onnx's command line, run in this runtime, for the sources it reads from files
(SavedModel, frozen GraphDef, TFLite): one place that runs it and checks its model."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import onnx

from stages.errors import StageError

# tf2onnx 1.17 writes some ops whatever opset it is asked for (TFLite's HARD_SWISH as HardSwish, which came in
# opset 14): the checker names the op and the opset it needs, and the conversion is made again at that one.
TOO_NEW = re.compile(r"No Op registered for (\w+) with domain_version of (\d+)")
NEWEST_RETRY = 17


def convert(source_args: list[str], out: Path, name: str, opset: int) -> onnx.ModelProto:
    """`python -m tf2onnx.convert <source_args> --opset N --output out`; the checked model (at a newer opset
    where tf2onnx wrote an op the asked one lacks: the model's metrics say which opset it has)."""
    try:
        return _convert(source_args, out, name, opset)
    except StageError as exc:
        if not TOO_NEW.search(str(exc)) or opset >= NEWEST_RETRY:
            raise
        out.unlink(missing_ok=True)
        return _convert(source_args, out, name, NEWEST_RETRY)


def _convert(source_args: list[str], out: Path, name: str, opset: int) -> onnx.ModelProto:
    done = subprocess.run(
        [sys.executable, "-m", "tf2onnx.convert", *source_args, "--opset", str(opset), "--output", str(out)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not out.is_file():
        errors = [line for line in done.stderr.splitlines() if "Error" in line] or done.stderr.splitlines()[-1:]
        print(done.stderr[-4000:], file=sys.stderr)
        raise StageError(f"tf2onnx could not convert {name}: {' '.join(errors[-1:])}")
    proto = onnx.load(str(out))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise StageError(
            f"the ONNX model tf2onnx made of {name} fails onnx.checker: {str(exc).splitlines()[0]}"
        ) from None
    return proto


UNSAFE = re.compile(r"[^A-Za-z0-9_./-]")


def tidy_names(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Node and tensor names TF accepts as op names: TFLite's fused names ("a/Relu;a/BiasAdd",
    "x:0") stop onnx2tf and TF's SavedModel writer. Same graph, safe names."""
    graph = proto.graph
    names = {}
    for value in [*graph.input, *graph.output, *graph.value_info, *graph.initializer]:
        names.setdefault(value.name, UNSAFE.sub("_", value.name))
    for node in graph.node:
        node.name = UNSAFE.sub("_", node.name)
        node.input[:] = [names.setdefault(n, UNSAFE.sub("_", n)) if n else n for n in node.input]
        node.output[:] = [names.setdefault(n, UNSAFE.sub("_", n)) if n else n for n in node.output]
    for value in [*graph.input, *graph.output, *graph.value_info, *graph.initializer]:
        value.name = names[value.name]
    if len(set(names.values())) != len(names):
        raise StageError("renaming the ONNX graph's tensors to names TF accepts made two of them the same")
    return proto


def opset_of(proto: onnx.ModelProto) -> int:
    """The ONNX opset the model was written at."""
    return next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
