"""emit/caffe: the net of emit/caffe-net loaded in pycaffe (Caffe parses and shapes it: a prototxt it
cannot build fails here, in its own words), its weights filled blob by blob (shapes checked), saved as
model.caffemodel; published as a folder with model.prototxt."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from stages.caffe.model import caffe
from stages.context import StageContext
from stages.errors import StageError

TOOLS = ("numpy",)
FOLDER = "caffe"


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    folder = ctx.out / FOLDER
    folder.mkdir()
    shutil.copyfile(source.file("prototxt"), folder / "model.prototxt")
    packed(folder / "model.prototxt", source.file("weights"), source.file("blobs"), folder / "model.caffemodel")
    size = sum(p.stat().st_size for p in folder.iterdir())
    return {
        **manifest,
        "format": "caffe",
        "precision": "fp32",
        "files": {"model": FOLDER, **source.carry_to(ctx.out)},
        "metrics": {"bytes": size},
    }


def packed(prototxt: Path, weights_file: Path, blobs: Path, caffemodel: Path) -> None:
    """The net of `prototxt` in pycaffe, its layers' blobs filled from emit/caffe-net's .npz, saved."""
    pycaffe = caffe()
    net = pycaffe.Net(str(prototxt), pycaffe.TEST)
    listing = json.loads(blobs.read_text())
    with np.load(weights_file, allow_pickle=False) as weights:
        for layer, keys in listing.items():
            params = net.params[layer]
            if len(params) != len(keys):
                raise StageError(f"Caffe's layer {layer} has {len(params)} blobs; the emitter wrote {len(keys)}")
            for blob, key in zip(params, keys):
                value = weights[key]
                if value.size != blob.data.size:
                    raise StageError(
                        f"Caffe's layer {layer} wants a blob of shape {list(blob.data.shape)}; "
                        f"the emitter wrote {list(value.shape)}"
                    )
                blob.data[...] = value.reshape(blob.data.shape)
    net.save(str(caffemodel))
