"""export/caffe: the net load/caffe read (net.json + weights.npz) as ONNX, one handler per layer type
(stages/caffe/to_onnx/layers/), exactly or refused naming the layer. Pure Python with onnx and numpy."""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import helper

from stages.caffe.to_onnx import layers as _handlers  # noqa: F401  (registers every handler)
from stages.caffe.to_onnx.graph import Graph, Layer, value
from stages.caffe.to_onnx.registry import HANDLERS
from stages.context import StageContext
from stages.errors import StageError

TOOLS = ("onnx", "numpy")
BATCH = "N"
OPSETS = range(13, 18)  # the handlers write opset 13's ops (Split's sizes and ReduceSum's axes as inputs)


def batched(shape: list) -> list:
    """Caffe batches every blob on axis 0: the ONNX graph takes any batch there (its Reshapes copy it)."""
    return [BATCH, *shape[1:]] if shape else shape


def build(net: dict, weights, where: str) -> Graph:
    g = Graph(net, weights, where)
    for spec in net["layers"]:
        handler = HANDLERS.find(spec["type"])
        if handler is None:
            raise StageError(
                f"{where}: modelferry cannot write Caffe's {spec['type']} layer {spec['name']!r} as "
                f"ONNX (it reads {', '.join(HANDLERS.ops())})"
            )
        inputs = [g.read(blob, spec["name"]) for blob in spec["bottom"]]
        handler(g, Layer(spec["name"], spec["type"], spec["bottom"], inputs, spec["top"], spec["params"]))
    return g


def run(ctx: StageContext) -> dict:
    source = ctx.source
    opset = int(ctx.option("opset"))
    where = ctx.user_file_name("prototxt")
    if opset not in OPSETS:
        raise StageError(f"--opset {opset}: the Caffe exporter writes opsets {OPSETS.start}-{OPSETS.stop - 1}")
    net = json.loads(source.file("net").read_text())
    manifest = source.inherited()
    with np.load(source.file("weights"), allow_pickle=False) as weights:
        g = build(net, dict(weights), where)
    inputs = [value(spec["name"], batched(spec["shape"])) for spec in manifest["inputs"]]
    outputs = []
    for spec in manifest["outputs"]:
        if g.current.get(spec["name"]) != spec["name"]:
            raise StageError(f"{where}: output blob {spec['name']!r} is also an input; ONNX cannot name both so")
        outputs.append(value(spec["name"], batched(g.shape(spec["name"]))))
    graph = helper.make_graph(g.nodes, net.get("name") or "caffe", inputs, outputs, g.initializers)
    model = helper.make_model(graph, producer_name="modelferry", opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise StageError(
            f"{where}: the ONNX graph written from it fails onnx.checker: {str(exc).splitlines()[0]}"
        ) from None
    onnx.save(model, ctx.out / "model.onnx")
    counts: dict[str, int] = {}
    for spec in net["layers"]:
        counts[spec["type"]] = counts.get(spec["type"], 0) + 1
    return {
        **manifest,
        "format": "onnx",
        "files": {"model": "model.onnx", **source.carry_to(ctx.out)},
        "metrics": {"opset": opset, "ir_version": model.ir_version, "nodes": len(model.graph.node), "layers": counts},
    }
