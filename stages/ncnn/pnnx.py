"""pnnx, the static binary inside its wheel (run directly: the wheel's Python side imports torch).

`pnnx model.onnx inputshape=[1,3,112,112]f32 fp16=0` reads ONNX and writes model.ncnn.param/.bin among
its other files. It names the blobs in0, in1 … and out0, out1 … in the order of the graph's inputs and
outputs; the bundle's manifest uses the blob names, and `names.json` beside the param file maps them back
to the model's tensor names for whoever runs the files. Ops it cannot
express it leaves under their own type with an "ignore" line (pnnx's words; ncnn then has no such layer):
where it leaves ops, the graph is legalized (stages/onnx/legalize: constant Pads as Concat, strided Slices
as Reshape and crop) and converted again; what is left is reported.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tempfile
from pathlib import Path

from stages.errors import StageError
from stages.ncnn.files import BIN, PARAM, Layer, layers, parse
from stages.onnx import legalize

DTYPES = {"float32": "f32"}  # ncnn's blobs are float: an integer input is legalized first (int-inputs)
OUTPUT_FILES = ("pnnxparam", "pnnxbin", "pnnxpy", "pnnxonnx", "ncnnpy")
# before pnnx runs: pnnx crashes on some Ifs (a bound input decides them); ncnn feeds floats only; pnnx makes
# Embed only of an attribute-less Gather; ncnn's Clip takes constant bounds only; pnnx writes a one-axis sum's
# Reduction without its axis; pnnx matches LSTM and GRU nodes in one form only; pnnx takes each input's first
# axis for a batch of one, drops a Transpose that moves it, and writes a Split of equal parts as a Slice
# without its sizes; and Transposes that cancel (or only reorder a dense layer's row) are layers saved
FIRST = (
    "constant-if",
    "int-inputs",
    "embedding",
    "clip-bounds",
    "sum-axes",
    "recurrent",
    "batch-axis",
    "transpose-as-reshape",
    "split-sizes",
    "transpose-pairs",
    "transpose-flatten",
)
# the ops pnnx leaves ("ignore <op> …") that a legalization pass writes in forms it takes
PASSES = {
    "Tensor.slice": "strided-slice",
    "Pad": "pad-as-concat",
    "ReduceMin": "reduce-axes",
    "ReduceMax": "reduce-axes",
    "torch.where": "div-no-nan",
    "Loop": "loop-unroll",
    "Gather": "gather-transpose",
}


def binary() -> Path:
    spec = importlib.util.find_spec("pnnx")
    if spec is None or not spec.submodule_search_locations:
        raise StageError("the pnnx wheel is not installed in this runtime")
    return Path(next(iter(spec.submodule_search_locations))) / "pnnx"


def input_shapes(inputs: list[dict], what: str) -> str:
    """pnnx's inputshape argument: each input at batch 1, with its element type."""
    shapes = []
    for spec in inputs:
        if spec["dtype"] not in DTYPES:
            raise StageError(
                f"{what}: input {spec['name']} is {spec['dtype']}; ncnn's blobs are float32 only, and "
                f"only an integer input is taken as float"
            )
        shape = [1, *spec["shape"]] if spec.get("unbatched") else list(spec["shape"])  # the batch-axis pass
        if shape and not isinstance(shape[0], int):
            shape[0] = 1
        if not all(isinstance(d, int) and d > 0 for d in shape):
            raise StageError(
                f"{what}: input {spec['name']} has the dynamic shape {spec['shape']}; give it with --input-shapes"
            )
        if shape[0] != 1:
            raise StageError(
                f"{what}: input {spec['name']} is {shape}: ncnn's blobs have no batch axis and "
                f"pnnx takes the first dimension for one, which must then be 1"
            )
        if len(shape) > 5:
            raise StageError(f"{what}: input {spec['name']} has rank {len(shape)}; ncnn's Mats hold at most 4 dims")
        shapes.append("[" + ",".join(map(str, shape)) + "]" + DTYPES[spec["dtype"]])
    return ",".join(shapes)


def blob_names(onnx_file: Path) -> dict[str, dict[str, str]]:
    """pnnx's blob names -> the graph's tensor names: pnnx numbers them in0…, out0… in the ONNX graph's
    own order of its inputs and outputs, which need not be the manifest's (a TFLite signature lists its
    outputs by name; tf2onnx's graph keeps the interpreter's order)."""
    import onnx

    graph = onnx.load(str(onnx_file), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    inputs = [value.name for value in graph.input if value.name not in weights]
    return {
        "inputs": {f"in{i}": name for i, name in enumerate(inputs)},
        "outputs": {f"out{i}": value.name for i, value in enumerate(graph.output)},
    }


def _run(model: Path, manifest: dict, folder: Path, fp16: bool, what: str) -> list[str]:
    work = model.parent
    argv = [
        str(binary()),
        str(model),
        f"inputshape={input_shapes(manifest['inputs'], what)}",
        f"fp16={int(fp16)}",
        f"ncnnparam={folder / PARAM}",
        f"ncnnbin={folder / BIN}",
        *(f"{key}={work / key}" for key in OUTPUT_FILES),
    ]
    done = subprocess.run(argv, cwd=work, capture_output=True, text=True)
    log = (done.stdout + done.stderr).splitlines()
    if done.returncode != 0 or not (folder / PARAM).is_file():
        raise StageError(f"pnnx could not convert {what}: {_failure(done.returncode, log)}")
    return [line.strip() for line in log if line.startswith("ignore ")]


def _failure(code: int, log: list[str]) -> str:
    """pnnx's last words, or, where it died on a signal after a pass banner ("############# pass_ncnn"),
    the signal and the pass it was in."""
    said = [line.strip() for line in log if line.strip()]
    passes = [line.strip("# ") for line in said if line.startswith("####")]
    words = [line for line in said if not line.startswith("####")]
    if code < 0:
        import signal

        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        return f"pnnx crashed ({name})" + (f" in {passes[-1]}" if passes else "")
    return (
        words[-1]
        if words and not (said[-1].startswith("####"))
        else (f"exit code {code}" + (f" in {passes[-1]}" if passes else ""))
    )


FLOATS = {"torch.float", "torch.float32"}
INTEGERS = {"torch.long", "torch.int", "torch.int32", "torch.int64"}


def noop_casts(folder: Path, ignored: list[str]) -> tuple[list[str], int]:
    """pnnx leaves a Cast as `Tensor.to`, a layer ncnn has not. ncnn's blobs are float32: a cast to float
    changes nothing (integers are held exactly), and neither does a cast to an integer type of an input
    that holds integers (token ids taken as float, stages/onnx/legalize/int_inputs.py). Those become ncnn's
    Noop, which passes its blob on, and pnnx's lines for them are dropped from `ignored`; returns them and
    how many casts became Noop. A cast of a computed float to an integer (a truncation) stays, and is
    refused with the other ops ncnn has no layer for."""
    dtypes: dict[str, set[str]] = {}
    for line in ignored:
        words = line.split()  # ignore Tensor.to <node> param dtype=torch.long
        if len(words) > 4 and words[1] == "Tensor.to" and words[4].startswith("dtype="):
            dtypes.setdefault(words[2], set()).add(words[4].split("=", 1)[1])
    param = folder / PARAM
    found = layers(param)
    inputs = {tops[0] for kind, _, _, tops in found if kind == "Input"}
    nodes = {
        name
        for kind, name, bottoms, _ in found
        if kind == "Tensor.to"
        and name in dtypes
        and (dtypes[name] <= FLOATS or (dtypes[name] <= INTEGERS and bottoms and bottoms[0] in inputs))
    }
    if not nodes:
        return ignored, 0
    lines = param.read_text().splitlines()
    for index, line in enumerate(lines):
        layer = parse(line)
        if layer and layer.kind == "Tensor.to" and layer.name in nodes:
            lines[index] = Layer("Noop", layer.name, layer.bottoms, layer.tops).line()
    param.write_text("\n".join(lines) + "\n")
    return [line for line in ignored if line.split()[2:3] and line.split()[2] not in nodes], len(nodes)


PASSING = ("Noop", "Split")  # layers that hand their blob on unchanged


def embedding_inputs(folder: Path) -> tuple[set[str], set[str], set[str]]:
    """ncnn's Embed reads its input blob's bits as int32 token ids, every other layer reads floats: the
    input blobs whose every reader (past Noop casts and Split) is an Embed, those read by an Embed and by
    other layers too, and the output blobs such an input reaches unchanged (an output that passes the ids
    on, which then hold int32 bits)."""
    found = layers(folder / PARAM)
    readers: dict[str, list[tuple[str, list[str]]]] = {}
    for kind, _, bottoms, tops in found:
        for bottom in bottoms:
            readers.setdefault(bottom, []).append((kind, tops))

    def kinds(blob: str) -> set[str]:
        if blob not in readers:  # read by no layer: a network output
            return {OUTPUT + blob}
        seen = set()
        for kind, tops in readers[blob]:
            seen |= set().union(*(kinds(top) for top in tops)) if kind in PASSING else {kind}
        return seen

    only, mixed, passed = set(), set(), set()
    for kind, _, _, tops in found:
        if kind == "Input":
            reach = kinds(tops[0])
            outputs = {k[len(OUTPUT) :] for k in reach if k.startswith(OUTPUT)}
            if "Embed" in reach:
                (only if reach - {OUTPUT + o for o in outputs} == {"Embed"} else mixed).add(tops[0])
                passed |= outputs
    return only, mixed, passed


OUTPUT = "output:"


def convert(onnx_file: Path, manifest: dict, folder: Path, fp16: bool, what: str) -> tuple[list[str], dict, int]:
    """Write folder/model.ncnn.param and .bin; return the ops pnnx said it ignored, what the legalization
    passes rewrote (FIRST always, where they find anything to rewrite; the others only where pnnx left ops,
    and the graph is then converted again, round after round while a pass rewrites anything), and how many
    LSTM steps pnnx left modelferry wrote as ncnn's LSTM layer (stages/ncnn/lstm_step.py)."""
    import onnx

    folder.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as work:
        model = Path(work) / "model.onnx"
        shutil.copyfile(onnx_file, model)
        graph = onnx.load(str(model))
        legalized = legalize.apply(graph, FIRST, manifest["inputs"])
        if legalized:
            onnx.save(graph, str(model))
        ignored = _run(model, manifest, folder, fp16, what)
        for _ in range(len(PASSES)):  # a rewrite may bring ops to light that another pass writes (a Loop's)
            left = {line.split()[1] for line in ignored if len(line.split()) > 1}  # "ignore <op> <node> …"
            passes = tuple(dict.fromkeys(rewrite for op, rewrite in PASSES.items() if op in left))
            graph = onnx.load(str(model))
            rewritten = legalize.apply(graph, passes, manifest["inputs"]) if passes else {}
            if not rewritten:
                break
            rewritten.update(legalize.apply(graph, FIRST, manifest["inputs"]))  # on what the rewrite brought in
            for name, count in rewritten.items():
                legalized[name] = legalized.get(name, 0) + count
            onnx.save(graph, str(model))
            shutil.rmtree(folder)
            folder.mkdir()
            ignored = _run(model, manifest, folder, fp16, what)
        from stages.ncnn import lstm_step

        ignored, steps = lstm_step.rewrite(folder, onnx.load(str(model)), manifest["inputs"], ignored)
    return ignored, legalized, steps
