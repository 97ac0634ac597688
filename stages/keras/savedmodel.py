"""emit/keras-savedmodel: Keras -> TF SavedModel with Keras' own export() (signature serving_default)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from stages.context import StageContext
from stages.contract import SERVING_SIGNATURE
from stages.keras.model import load
from stages.savedmodel import signature
from stages.savedmodel.resign import resign

TOOLS = ("tensorflow-cpu", "keras")
KEY = SERVING_SIGNATURE


def export(ctx: StageContext):
    """The Keras model of the input bundle, written as ctx.out/saved_model."""
    source = ctx.source
    model = load(source.file("model"), ctx.user_file_name("model"), bool(ctx.option("trust_custom_code")))
    path = ctx.out / "saved_model"
    # Keras 3's export() writes a SavedModel whose serving signature carries the weights;
    # from_concrete_functions on a Keras 3 model silently drops them (DESIGN.md). Its outputs
    # are keyed output_0…: signed again with the model's output names.
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp + "/saved_model", format="tf_saved_model", verbose=False)
        resign(Path(tmp) / "saved_model", path, KEY, source.manifest["outputs"])
    return path


def run(ctx: StageContext) -> dict:
    manifest = ctx.source.inherited()
    path = export(ctx)
    inputs, outputs = signature.describe(path, KEY, manifest["inputs"], manifest["outputs"])
    return {
        **manifest,
        "format": "savedmodel",
        "precision": "fp32",
        "signature": KEY,
        "files": {"model": "saved_model", **ctx.source.carry_to(ctx.out)},
        "inputs": inputs,
        "outputs": outputs,
        "metrics": {"signature": KEY},
    }
