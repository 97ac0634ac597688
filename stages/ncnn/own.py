"""emit/ncnn-own: ONNX -> ncnn .param + .bin written by modelferry, layer by layer (stages/ncnn/layers.py):
the route after pnnx, for a graph pnnx leaves ops in, crashes on, or writes a file of that ncnn cannot
load. The blobs keep the model's tensor names.

The graph is legalized first (an If or a Loop decided when the graph is built, a 1-d convolution as 2-d,
Transposes that undo each other, a strided Slice, integer inputs taken as float), its shape computations
are evaluated at the signature's shapes, and each remaining node becomes ncnn layers or is refused naming
the op and the node. The files are then loaded in ncnn, so one that ncnn refuses is never published."""

from __future__ import annotations

import json
import shutil

import numpy as np

from stages.context import StageContext
from stages.errors import StageError
from stages.ncnn.files import NAMES, size
from stages.ncnn.layers import LAYERS, State
from stages.ncnn.net import Net, shape_params
from stages.onnx import emitter, legalize, static
from stages.onnx.legalize import int_inputs

TOOLS = ("ncnn", "onnx", "numpy")
FOLDER = "ncnn"
WRITER = "modelferry"
PASSES = (
    "constant-if",
    "loop-unroll",
    "int-inputs",
    "static-shapes",
    "conv1d",
    "einsum",
    "strided-slice",
    "transpose-as-reshape",
    "transpose-pairs",
    "transpose-flatten",
    "split-sizes",
    "div-no-nan",
    "clip-bounds",
)


def build(model, inputs: list[dict], fp16: bool, what: str) -> tuple[Net, list[str]]:
    """The ncnn net of `model` and its output blobs, in the graph's order."""
    version = emitter.opset(model)
    shapes = static.shapes(model, inputs)
    types = static.element_types(model, inputs)
    readers: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    state = State(
        Net(fp16),
        emitter.initializers(model),
        shapes,
        types,
        readers,
        {value.name for value in model.graph.output},
        version,
    )
    integer = {name: kind for kind, name in int_inputs.INTEGER.items()}
    for spec in inputs:
        if spec.get("source_dtype") in integer:  # taken as float (int-inputs): its values are integers still
            state.types[spec["name"]] = integer[spec["source_dtype"]]
        blob = state.net.blob(spec["name"])
        dims = state.net.shapes[blob] = tuple(static.signature_shape(spec)[1:]) or (1,)
        if len(dims) > 4:
            raise StageError(
                f"{what}: input {spec['name']} has {len(dims) + 1} axes; ncnn's blobs hold at most 4 besides the batch"
            )
        state.net.add("Input", blob, [], [blob], shape_params(dims) if len(dims) <= 3 else {})
    for node in emitter.nodes(model, state.constants, shapes.get, version, what):
        LAYERS(state, node, what)
    outputs = []
    for value in model.graph.output:
        name = state.aliases.get(value.name, value.name)
        if name not in state.net.names:
            raise StageError(
                f"{what}: output {value.name} is a constant or not made by any node; ncnn has no blob for it"
            )
        outputs.append(state.net.names[name])
    return state.net, outputs


def make(ctx: StageContext, onnx_file, fp16: bool, folder_name: str) -> dict:
    """The ncnn files of `onnx_file` in out/<folder_name>, written layer by layer."""
    import onnx

    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    model = onnx.load(str(onnx_file))
    legalized = legalize.apply(model, PASSES, manifest["inputs"])
    net, outputs = build(model, manifest["inputs"], fp16, what)
    folder = ctx.out / folder_name
    folder.mkdir()
    net.write(folder)
    names = {
        "inputs": {net.names[spec["name"]]: spec["name"] for spec in manifest["inputs"]},
        "outputs": {blob: value.name for blob, value in zip(outputs, model.graph.output, strict=True)},
    }
    (folder / NAMES).write_text(json.dumps(names, indent=2) + "\n")
    for kind in ("inputs", "outputs"):  # the artifact's tensors are the blobs
        blob = {name: blob for blob, name in names[kind].items()}
        manifest[kind] = [{**spec, "name": blob.get(spec["name"], spec["name"])} for spec in manifest[kind]]
    _check_loads(folder, manifest, fp16, what)
    shutil.copyfile(onnx_file, ctx.out / "graph.onnx")
    if legalized:
        manifest["legalized"] = {**manifest.get("legalized", {}), **legalized}
    return {
        **manifest,
        "format": "ncnn",
        "precision": "fp16" if fp16 else "fp32",
        "writer": WRITER,
        "files": {"model": folder_name, "onnx": "graph.onnx", **source.carry_to(ctx.out)},
        "metrics": {"bytes": size(folder), "layers_written": len(net.layers)},
    }


def _check_loads(folder, manifest: dict, fp16: bool, what: str) -> None:
    """ncnn loads the files and runs them once on zeros, or the stage fails saying where (`manifest`'s
    tensors named by blob)."""
    from stages.ncnn.model import NcnnModel

    model = NcnnModel(folder, manifest["inputs"], manifest["outputs"], fp16, WRITER)
    feeds = {spec["name"]: np.zeros(static.signature_shape(spec), np.float32) for spec in manifest["inputs"]}
    try:
        model(feeds)
    except StageError as exc:
        raise StageError(f"{what}: the ncnn files modelferry wrote do not run: {exc}") from None


def run(ctx: StageContext) -> dict:
    return make(ctx, ctx.source.file("model"), fp16=False, folder_name=FOLDER)
