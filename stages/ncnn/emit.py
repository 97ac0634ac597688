"""emit/ncnn: ONNX -> ncnn .param + .bin with pnnx, fp32 weights, blobs mapped back to the model's names.

The bundle keeps the ONNX graph it came from (role `onnx`, not published) so that the fp16 artifact is
made by pnnx from the same graph."""

from __future__ import annotations

import json
import shutil
import sys

from stages.context import StageContext
from stages.errors import StageError
from stages.ncnn import files, pnnx
from stages.ncnn.model import check_layers

TOOLS = ("pnnx", "ncnn", "onnx", "numpy")
FOLDER = "ncnn"


def make(ctx: StageContext, onnx_file, fp16: bool, folder_name: str, names: dict) -> dict:
    """The ncnn files of `onnx_file` in out/<folder_name>; `names`: pnnx's blob names -> the graph's."""
    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    folder = ctx.out / folder_name
    graph = manifest
    if source.format == "ncnn":  # the fp32 artifact's tensors are named by blob; the graph's by the model
        graph = {
            kind: [{**spec, "name": names[kind][spec["name"]]} for spec in manifest[kind]]
            for kind in ("inputs", "outputs")
        }
    ignored, legalized, steps = pnnx.convert(onnx_file, graph, folder, fp16, what)
    ignored, casts = pnnx.noop_casts(folder, ignored)
    check_layers(folder, what, ignored)
    (folder / files.NAMES).write_text(json.dumps(names, indent=2) + "\n")
    for kind in ("inputs", "outputs"):  # the artifact's tensors are the blobs
        blob = {name: blob for blob, name in names[kind].items()}
        manifest[kind] = [{**spec, "name": blob.get(spec["name"], spec["name"])} for spec in manifest[kind]]
    ids, mixed, passed = pnnx.embedding_inputs(folder)
    if mixed:
        raise StageError(
            f"{what}: input {names['inputs'][sorted(mixed)[0]]} feeds ncnn's Embed, which reads its "
            f"blob as int32 ids, and other layers, which read it as floats"
        )
    manifest["inputs"] = [
        {
            **spec,
            "dtype": "int32",
            "source_dtype": spec.get("source_dtype", spec["dtype"]),
            "note": "ncnn's Embed reads this blob's bits as int32 token ids: feed them as int32",
        }
        if spec["name"] in ids
        else spec
        for spec in manifest["inputs"]
    ]
    manifest["outputs"] = [
        {
            **spec,
            "dtype": "int32",
            "int32_bits": True,
            "note": "the token ids passed on unchanged: the blob holds their int32 bits",
        }
        if spec["name"] in passed
        else spec
        for spec in manifest["outputs"]
    ]
    for line in ignored:
        print(f"pnnx: {line}", file=sys.stderr)
    shutil.copyfile(onnx_file, ctx.out / "graph.onnx")
    metrics = {
        "bytes": files.size(folder),
        **({"pnnx_ignored": ignored} if ignored else {}),
        **({"casts_as_noop": casts} if casts else {}),
        **({"lstm_steps_written": steps} if steps else {}),
    }
    if legalized:
        manifest["legalized"] = {**manifest.get("legalized", {}), **legalized}
    return {
        **manifest,
        "format": "ncnn",
        "precision": "fp16" if fp16 else "fp32",
        "files": {"model": folder_name, "onnx": "graph.onnx", **source.carry_to(ctx.out)},
        "metrics": metrics,
    }


def run(ctx: StageContext) -> dict:
    names = pnnx.blob_names(ctx.source.file("model"))
    return make(ctx, ctx.source.file("model"), fp16=False, folder_name=FOLDER, names=names)
