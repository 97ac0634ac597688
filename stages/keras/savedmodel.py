"""emit/keras-savedmodel: Keras -> TF SavedModel with Keras' own ExportArchive (signature serving_default),
its outputs keyed by the model's output names.

Keras 3's export() writes a SavedModel whose serving signature carries the weights; from_concrete_functions on a
Keras 3 model silently drops them (DESIGN.md). export() keys the outputs output_0…; the endpoint here is the
model's own call, as export() registers it, returning {name: tensor} in the order of the model's outputs, so the
SavedModel (and the TFLite and TFJS files made from it) carries the source's names without being loaded and
saved a second time (which was as long as the export itself).
"""

from __future__ import annotations

from stages.context import StageContext
from stages.contract import SERVING_SIGNATURE
from stages.keras.model import load
from stages.savedmodel import signature

TOOLS = ("tensorflow-cpu", "keras")
KEY = SERVING_SIGNATURE


def named(result, names: list[str]):
    """The model's outputs keyed by `names`: one tensor or a flat list of them, in the model's output order.
    A dict is kept as the model returns it (its keys are already names), as is any other structure."""
    if isinstance(result, dict):
        return result
    flat = list(result) if isinstance(result, (list, tuple)) else [result]
    if len(flat) != len(names) or any(isinstance(item, (list, tuple, dict)) for item in flat):
        return result
    return dict(zip(names, flat, strict=True))


def export(ctx: StageContext):
    """The Keras model of the input bundle, written as ctx.out/saved_model."""
    from keras.export import ExportArchive
    from keras.src.export.export_utils import get_input_signature

    source = ctx.source
    model = load(source.file("model"), ctx.user_file_name("model"), bool(ctx.option("trust_custom_code")))
    names = [spec["name"] for spec in source.manifest["outputs"]]
    archive = ExportArchive()
    archive.track(model)
    archive.add_endpoint(KEY, lambda *args, **kwargs: named(model(*args, **kwargs), names), get_input_signature(model))
    path = ctx.out / "saved_model"
    archive.write_out(str(path), verbose=False)
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
