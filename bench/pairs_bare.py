"""bench/pairs: each converter of a route called directly, in the same runtime as its stage.

A hop is one export/emit step of the plan. Its bare script (bench/bare/) reads the
same file the stage read (the model in the step's input bundle), times only the
converter call and prints JSON. Identical calls are timed once. onnx2tf.convert, called
by hand, writes the SavedModel and the TFLite file in one call: it is the bare
converter of emit/onnx2tf, and TF's converter after it (emit/savedmodel-tflite on
onnx2tf's SavedModel) has no bare hop of its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flows.plan import Step
from stages.bundle import Bundle

REPO = Path(__file__).resolve().parent.parent
MODELFERRY = str(Path(sys.executable).parent / "modelferry")
Arg = str | Path  # a Path is an input file or directory (staged for docker)


@dataclass(frozen=True)
class Call:
    image: str
    script: str  # in bench/bare/
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class BareTime:
    seconds: float | None
    converter: str
    error: str = ""


def _shape(spec: dict) -> str:
    return ",".join(str(d if isinstance(d, int) and d > 0 else 1) for d in spec["shape"])


def _signature(bundle: Bundle) -> str:
    return bundle.manifest.get("signature") or bundle.manifest.get("metrics", {}).get("signature") or "serving_default"


def _onnx2tf(b: Bundle) -> Call:
    args: list[Arg] = [b.file("model")]
    for spec in b.manifest["inputs"]:
        args += ["--input", f"{spec['name']}:{_shape(spec)}"]
        if spec.get("layout") == "NHWC":
            args += ["--nhwc", spec["name"]]
    return Call("tf", "onnx2tf_convert.py", tuple(args))


# (stage, impl) of a converter step -> its bare call, from the bundle the step reads.
CALLS: dict[tuple[str, str], Callable[[Bundle], Call]] = {
    ("export", "mxnet"): lambda b: Call(
        "mxnet", "mxnet_onnx.py", (b.file("symbol"), b.file("params"), "--input-shape", _shape(b.manifest["inputs"][0]))
    ),
    ("export", "keras"): lambda b: Call("tf", "keras_onnx.py", (b.file("model"),)),
    ("export", "savedmodel"): lambda b: Call(
        "tf", "tf2onnx_cli.py", ("--", "--saved-model", b.file("model"), "--signature_def", _signature(b))
    ),
    ("export", "graphdef"): lambda b: Call(
        "tf",
        "tf2onnx_cli.py",
        (
            "--",
            "--graphdef",
            b.file("model"),
            "--inputs",
            ",".join(f"{s['name']}:0" for s in b.manifest["inputs"]),
            "--outputs",
            ",".join(f"{s['name']}:0" for s in b.manifest["outputs"]),
        ),
    ),
    ("export", "tflite"): lambda b: Call("tf", "tf2onnx_cli.py", ("--", "--tflite", b.file("model"))),
    ("export", "torch"): lambda b: Call(
        "torch", "torch_onnx.py", (b.file("model"), "--input-shape", _shape(b.manifest["inputs"][0]))
    ),
    ("emit", "onnx2tf"): _onnx2tf,
    ("emit", "onnx2tf-direct"): lambda b: Call(
        "onnx2tf2",
        "onnx2tf2_direct.py",
        (b.file("model"), *(arg for s in b.manifest["inputs"] for arg in ("--input", f"{s['name']}:{_shape(s)}"))),
    ),
    ("emit", "keras-tflite"): lambda b: Call("tf", "tflite_converter.py", ("--keras", b.file("model"))),
    ("emit", "savedmodel-tflite"): lambda b: Call(
        "tf", "tflite_converter.py", ("--saved-model", b.file("model"), "--signature", _signature(b))
    ),
    ("emit", "keras-savedmodel"): lambda b: Call("tf", "keras_savedmodel.py", (b.file("model"),)),
    ("emit", "graphdef-savedmodel"): lambda b: Call(
        "tf",
        "graphdef_savedmodel.py",
        (b.file("model"), "--input", b.manifest["inputs"][0]["name"], "--output", b.manifest["outputs"][0]["name"]),
    ),
    ("emit", "tfjs"): lambda b: Call("tfjs", "tfjs_converter.py", (b.file("model"), "--signature", _signature(b))),
    ("emit", "openvino"): lambda b: Call("openvino", "openvino_convert.py", (b.file("model"),)),
    ("emit", "mxnet"): lambda b: Call("mxnet", "mxnet_import.py", (b.file("model"),)),
    ("emit", "ncnn"): lambda b: Call(
        "ncnn", "pnnx_convert.py", (b.file("model"), "--input-shape", _shape(b.manifest["inputs"][0]))
    ),
    ("emit", "coreml"): lambda b: Call(
        "coreml",
        "coremltools_convert.py",
        (b.file("torchscript"), "--input-shape", ",".join(["1", *_shape(b.manifest["inputs"][0]).split(",")[1:]])),
    ),
}


# Hops whose bare converter is the previous hop's: onnx2tf.convert, called by hand, writes the TFLite file too.
INCLUDED = {(("emit", "onnx2tf"), ("emit", "savedmodel-tflite"))}
# Hops with no bare converter to run beside them, and why.
OWN = {
    ("emit", "caffe-net"): "no bare ONNX -> Caffe converter runs here (MMdnn pins TF 1.15; the onnx2caffe "
    "scripts each carry a fork's caffe.proto): the emitter is modelferry's own",
    ("emit", "caffe"): "pycaffe loading the net and saving the weights is the emitter's own second half",
    ("export", "caffe"): "no bare Caffe -> ONNX converter runs here (caffe2onnx and MMdnn each pin a fork's "
    "caffe.proto and an old ONNX): the emitter is modelferry's own",
    ("emit", "pytorch"): "no bare ONNX -> PyTorch converter is pinned here (onnx2torch is not in the torch "
    "image): the emitter is modelferry's own torch.fx builder",
}
# Hops that convert nothing: a TFLite source taken as the TFLite artifact.
NOTHING = {("emit", "tflite-as-is")}


def call_for(step: Step, input_bundle: Path, previous: Step | None = None) -> Call | None:
    """The bare call of a converter step; None where the previous hop's bare converter does its work,
    or the hop converts nothing."""
    if (
        (step.stage, step.impl) in NOTHING
        or previous is not None
        and ((previous.stage, previous.impl), (step.stage, step.impl)) in INCLUDED
    ):
        return None
    if (step.stage, step.impl) in OWN:
        raise KeyError(OWN[(step.stage, step.impl)])
    try:
        make = CALLS[(step.stage, step.impl)]
    except KeyError:
        raise KeyError(
            f"bench/pairs has no bare converter for {step.stage}/{step.impl}: add one to bench/pairs_bare.py"
        ) from None
    return make(Bundle.read(input_bundle))


def _staged(call: Call, work: Path) -> tuple[Path, list[str]]:
    """For docker (which mounts only the working directory): the scripts and inputs copied under one."""
    work.chmod(0o755)  # the container's user is not the caller when the caller is root
    shutil.copytree(REPO / "bench" / "bare", work / "bare", ignore=shutil.ignore_patterns("__pycache__"))
    argv = [f"bare/{call.script}"]
    for index, arg in enumerate(call.args):
        if isinstance(arg, Path):
            dest = work / "in" / str(index) / arg.name
            dest.parent.mkdir(parents=True)
            (shutil.copytree if arg.is_dir() else shutil.copyfile)(arg, dest)
            argv.append(str(dest.relative_to(work)))
        else:
            argv.append(arg)
    return work, argv


def run(call: Call, runtime: str, env: dict[str, str]) -> BareTime:
    with tempfile.TemporaryDirectory(prefix="modelferry-bare-stage-") as tmp:
        if runtime == "docker":
            cwd, argv = _staged(call, Path(tmp))
        else:
            cwd, argv = REPO, [str(REPO / "bench" / "bare" / call.script), *map(str, call.args)]
        done = subprocess.run(
            [MODELFERRY, "runtime", "exec", "--runtime", runtime, call.image, "--", "python", *argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        useful = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith(("W0000", "I0000"))]
        return BareTime(None, call.script, (useful or [f"exit {done.returncode}"])[-1].strip())
    result = json.loads(lines[-1])
    return BareTime(float(result["seconds"]), result["converter"])
