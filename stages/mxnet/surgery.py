"""surgery/mxnet: declarative, checked edits of an MXNet checkpoint.

Config (all optional): `strip_preprocess` (bool), `rename` ({old: new}),
`output_layer` (a node name). BatchNorm with fix_gamma=True is always
rewritten to gamma = 1, fix_gamma = False, which MXNet computes identically
and exporters cannot get wrong. The edited model is run and must reproduce
the source's golden outputs before the bundle is written.
"""

from __future__ import annotations

import mxnet as mx
import numpy as np

from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.mxnet import checkpoint
from stages.mxnet import graph as graph_lib

TOOLS = ("mxnet", "numpy")
SELF_CHECK_TOLERANCE = 1e-4


def _rename(graph: dict, arg: dict, aux: dict, renames: dict[str, str]) -> list[dict]:
    done = []
    names = [node["name"] for node in graph["nodes"]]
    for old, new in renames.items():
        index = graph_lib.index_of(graph, old)
        if index is None or graph["nodes"][index]["op"] != "null":
            raise graph_lib.unknown_name("parameter", old, [n for n in names if n in arg or n in aux])
        if new in names:
            raise StageError(f"cannot rename {old!r} to {new!r}: the symbol already has a node named {new!r}")
        table = arg if old in arg else aux
        if old not in table:
            raise StageError(f"{old!r} is an input of the symbol, not a parameter in the .params file")
        graph["nodes"][index]["name"] = new
        table[new] = table.pop(old)
        done.append({"from": old, "to": new})
    return done


def _cut(graph: dict, layer: str) -> str:
    name = layer[: -len("_output")] if layer.endswith("_output") else layer
    index = graph_lib.index_of(graph, name)
    if index is None or graph["nodes"][index]["op"] == "null":
        raise graph_lib.unknown_name("layer", layer, [n["name"] for n in graph["nodes"] if n["op"] != "null"])
    graph["heads"] = [[index, 0, 0]]
    return f"{name}_output"


def run(ctx: StageContext) -> dict:
    source = ctx.source
    graph = checkpoint.read_symbol_json(source.file("symbol"))
    original = checkpoint.symbol_from_json(graph, source.file("symbol"))
    arg, aux = checkpoint.read_params(source.file("params"))
    raw_samples = samples_lib.load_npz(source.file("samples"), "samples")
    golden = samples_lib.load_npz(source.file("golden"), "golden outputs")
    manifest = source.inherited()
    edits: dict = {}

    output_layer = ctx.option("output_layer")
    if output_layer:
        output_name = _cut(graph, output_layer)
        # The golden outputs of a cut graph come from the *source* model's internals.
        golden = checkpoint.run(
            original.get_internals()[output_name],
            arg,
            aux,
            raw_samples,
            where=f"{source.file('symbol').name} at layer {output_layer}",
        )
        manifest["outputs"] = samples_lib.output_specs(golden)
        edits["output_layer"] = output_name

    fixed = graph_lib.fix_gamma(graph)
    for _, gamma in fixed:
        if gamma in arg:
            arg[gamma] = mx.nd.ones_like(arg[gamma])
    edits["fix_gamma"] = [node for node, _ in fixed]

    if ctx.option("rename"):
        edits["renamed"] = _rename(graph, arg, aux, ctx.option("rename"))

    if ctx.option("strip_preprocess"):
        stripped = {}
        for spec in manifest["inputs"]:
            found = graph_lib.strip_affine_chain(graph, spec["name"])
            if found:
                stripped[spec["name"]] = found
        if not stripped:
            raise StageError(
                "--strip-preprocess: no _minus_scalar/_mul_scalar/_div_scalar/_plus_scalar "
                "chain follows any input of the symbol"
            )
        manifest["preprocess"] = {"inputs": stripped}

    graph, symbol = graph_lib.canonical(graph)
    used = set(symbol.list_arguments()) | set(symbol.list_auxiliary_states())
    arg = {k: v for k, v in arg.items() if k in used}
    aux = {k: v for k, v in aux.items() if k in used}

    feeds = samples_lib.apply_preprocess(raw_samples, manifest.get("preprocess"))
    edited = checkpoint.run(symbol, arg, aux, feeds, where="the edited model")
    for (name, want), got in zip(golden.items(), edited.values(), strict=True):
        error = float(np.max(np.abs(want - got)))
        if error > SELF_CHECK_TOLERANCE * max(1.0, float(np.max(np.abs(want)))):
            raise StageError(f"surgery changed the model's output {name!r} by up to {error:.3g}; edits were {edits}")
    # Output names may change with the edits; key golden by the edited model's names.
    golden = dict(zip(edited, golden.values(), strict=True))
    for spec, name in zip(manifest["outputs"], edited, strict=True):
        spec["name"] = name

    files = checkpoint.write_checkpoint(ctx.out, graph, arg, aux)
    files.update(source.carry_to(ctx.out))
    np.savez(ctx.out / source.manifest["files"]["golden"], **golden)
    return {**manifest, "format": "mxnet", "files": files, "metrics": {"edits": edits}}
