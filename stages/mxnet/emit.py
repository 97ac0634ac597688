"""emit/mxnet: ONNX -> an MXNet checkpoint (model-symbol.json + model-0000.params), op by op.

Each ONNX node becomes MXNet symbols through its handler (stages/mxnet/onnx_ops.py). Shape-only
computations (Shape, Gather of a shape, Concat of constants …) are evaluated here at the signature's
static shapes with ONNX's reference implementation, so Reshape takes a constant shape. The symbol is
then bound and run once on zeros, so a checkpoint that MXNet cannot run is never published. The
artifact's outputs are MXNet's (`<ONNX output name>_output`), in the graph's output order.
"""

from __future__ import annotations

import mxnet as mx
import numpy as np

from stages.context import StageContext
from stages.errors import StageError
from stages.mxnet import checkpoint, recurrent  # noqa: F401 - recurrent registers LSTM and GRU
from stages.mxnet.onnx_ops import OPS, Graph
from stages.onnx import emitter, legalize, static

TOOLS = ("mxnet", "onnx", "numpy")
FOLDER = "mxnet"
# MXNet's symbol has no control flow, its legacy API no einsum, its clip constant bounds only; Transposes that cancel
# (or only reorder a dense layer's row) are taken out
PASSES = ("constant-if", "loop-unroll", "einsum", "clip-bounds", "transpose-pairs", "transpose-flatten")
PREFIX = "model"


def build(model, manifest: dict, what: str) -> tuple[mx.sym.Symbol, dict, dict]:
    version = emitter.opset(model)
    g = Graph(
        shapes=static.shapes(model, manifest["inputs"]),
        opset=version,
        input_shapes={spec["name"]: tuple(spec["shape"]) for spec in manifest["inputs"]},
    )
    g.constants.update(emitter.initializers(model))
    for spec in manifest["inputs"]:
        g.symbols[spec["name"]] = mx.sym.var(spec["name"], shape=tuple(spec["shape"]), dtype=spec["dtype"])
    for node in emitter.nodes(model, g.constants, g.shape, version, what):
        try:
            made = OPS(g, node, what)
            g.symbols.update(
                zip(node.output, made, strict=False) if isinstance(made, list) else [(node.output[0], made)]
            )
        except mx.base.MXNetError as exc:
            raise StageError(
                f"{what}: MXNet refused {node.op_type} node {node.name!r}: {checkpoint._first_line(exc)}"
            ) from None
    heads = []
    for output in model.graph.output:
        if output.name not in g.symbols and output.name not in g.constants:
            raise StageError(f"{what}: output {output.name} is not made by any node")
        made = g.symbols.get(output.name)
        heads.append(
            mx.sym.identity(g.tensor(output.name), name=output.name)
            if made is None or _is_var(made) or made.name != output.name
            else made
        )
    symbol = mx.sym.Group(heads) if len(heads) > 1 else heads[0]
    used = set(symbol.list_arguments()) | set(symbol.list_auxiliary_states())
    return symbol, {k: v for k, v in g.arg.items() if k in used}, {k: v for k, v in g.aux.items() if k in used}


def _is_var(symbol) -> bool:
    return symbol.list_outputs() == [symbol.name]


def run(ctx: StageContext) -> dict:
    import json

    import onnx

    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    model = onnx.load(str(source.file("model")))
    legalized = legalize.apply(model, PASSES, manifest["inputs"])
    if legalized:
        manifest["legalized"] = {**manifest.get("legalized", {}), **legalized}
    symbol, arg, aux = build(model, manifest, what)
    feeds = {spec["name"]: np.zeros(spec["shape"], spec["dtype"]) for spec in manifest["inputs"]}
    checkpoint.run(symbol, arg, aux, feeds, where=f"the MXNet symbol made from {what}")  # it runs
    names = symbol.list_outputs()
    folder = ctx.out / FOLDER
    folder.mkdir()
    files = checkpoint.write_checkpoint(folder, json.loads(symbol.tojson()), arg, aux, PREFIX)
    made = {output.name: name for output, name in zip(model.graph.output, names, strict=True)}  # by name: the graph's
    manifest["outputs"] = [{**spec, "name": made[spec["name"]]} for spec in manifest["outputs"]]  # order may differ
    size = sum(p.stat().st_size for p in folder.iterdir())
    return {
        **manifest,
        "format": "mxnet-model",
        "precision": "fp32",
        "files": {
            "model": FOLDER,
            **{role: f"{FOLDER}/{name}" for role, name in files.items()},
            **source.carry_to(ctx.out),
        },
        "metrics": {"bytes": size},
    }
