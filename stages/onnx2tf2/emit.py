"""emit/onnx2tf-direct: ONNX -> TFLite (fp32) with onnx2tf 2's flatbuffer_direct backend.

onnx2tf 2 lowers the ONNX graph to its own IR and writes the TFLite FlatBuffer itself: no TensorFlow is
imported, and the write takes a fraction of a second where TF's converter takes seconds. It moves
channels-first inputs channels-last, as onnx2tf 1 does, and keeps the ONNX graph's input and output
names in the file (copy_onnx_input_output_names_to_tflite). It converts a copy of the graph with TF-safe
names (stages/onnx/names.py); the file's tensors are then matched to the model's by those names
(stages/tflite/signature.py).

Both run in the stage's own process, as calls: onnx-simplifier three times in a row (what onnx2tf's command
does first, each time in a process of its own), then onnx2tf.convert. In a warm worker (flows/runtimes/warm/)
their modules are imported already, so the stage is the conversion alone."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import traceback
from pathlib import Path

from stages.context import StageContext
from stages.errors import StageError
from stages.onnx import names
from stages.onnx2tf.convert import kept_layouts
from stages.tflite.signature import describe

TOOLS = ("onnx2tf", "onnxsim", "onnx", "ai-edge-litert")
TFLITE = "model_float32.tflite"
PASSES = ("gelu", "reduce-l2")  # as for onnx2tf 1 (stages/onnx2tf/emit.py)


def options(inputs: list[dict]) -> dict:
    """onnx2tf.convert's keyword arguments: the inputs at the signature's shapes, those onnx2tf must not move
    channels-last kept as they are (stages/onnx2tf/convert.kept_layouts, as for onnx2tf 1)."""
    channels_last, no_channels = kept_layouts(inputs)
    return dict(
        copy_onnx_input_output_names_to_tflite=True,
        non_verbose=True,
        tflite_backend="flatbuffer_direct",
        not_use_onnxsim=True,
        overwrite_input_shape=[f"{name}:{','.join(map(str, dims))}" for name, dims in shapes(inputs).items()],
        keep_nwc_or_nhwc_or_ndhwc_input_names=channels_last or None,
        keep_ncw_or_nchw_or_ncdhw_input_names=no_channels or None,
    )


def shapes(inputs: list[dict]) -> dict[str, list[int]]:
    """Each input's shape as the conversion fixes it: a dynamic dimension taken as 1."""
    return {spec["name"]: [d if isinstance(d, int) else 1 for d in spec["shape"]] for spec in inputs}


def simplify(path: Path, inputs: list[dict]) -> None:
    """onnx-simplifier three times in a row at the fixed input shapes, as onnx2tf's command runs it. A graph
    the simplifier cannot take goes on as it is, as with onnx2tf."""
    import onnx
    import onnxsim

    model = onnx.load(str(path))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for _ in range(3):
                model, _ = onnxsim.simplify(model, overwrite_input_shapes=shapes(inputs))
    except Exception:
        return
    onnx.save(model, str(path))


def _failure(log: str) -> str:
    """onnx2tf's own last words: its ERROR line, else the last line of a traceback."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    said = [
        line
        for line in lines
        if "ERROR" in line or line.startswith(("ValueError", "NotImplementedError", "RuntimeError", "KeyError"))
    ]
    return (said or lines or ["no output"])[-1][:400]


def convert(path: Path, out: Path, inputs: list[dict], what: str) -> str:
    """onnx2tf.convert in this process; returns what it printed, or raises with its own last words."""
    import onnx2tf

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            onnx2tf.convert(input_onnx_file_path=str(path), output_folder_path=str(out), **options(inputs))
    except (Exception, SystemExit) as exc:  # onnx2tf ends with sys.exit(1) on what it cannot convert
        said = printed.getvalue() + "\n" + "".join(traceback.format_exception_only(exc))
        raise StageError(f"onnx2tf 2 (flatbuffer_direct) could not convert {what}: {_failure(said)}") from None
    return printed.getvalue()


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    with tempfile.TemporaryDirectory(prefix="onnx2tf2-") as tmp:
        work = Path(tmp)
        path, inputs, outputs, legalized = names.safe_copy(
            source.file("model"), work / "model.onnx", manifest["inputs"], manifest["outputs"], PASSES
        )
        simplify(path, inputs)
        convert(path, work / "out", inputs, what)
        made = work / "out" / TFLITE  # onnx2tf names it after the graph's file, model.onnx
        if not made.is_file():
            raise StageError(f"onnx2tf 2 (flatbuffer_direct) could not convert {what}: it wrote no {TFLITE}")
        shutil.copyfile(made, ctx.out / TFLITE)
    inputs, outputs = describe(ctx.out / TFLITE, inputs, outputs, moved=True)
    return {
        **manifest,
        "format": "tflite",
        "precision": "fp32",
        "inputs": inputs,
        "outputs": outputs,
        "files": {"model": TFLITE, **source.carry_to(ctx.out)},
        "metrics": {"bytes": (ctx.out / TFLITE).stat().st_size},
        **({"legalized": {**manifest.get("legalized", {}), **legalized}} if legalized else {}),
    }
