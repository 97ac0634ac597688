"""emit/graphdef-savedmodel: a frozen GraphDef wrapped as a TF SavedModel (signature serving_default).

From there TF's own TFLiteConverter makes TFLite (no ONNX detour), and the
SavedModel is a target of its own.
"""

from __future__ import annotations

from stages.context import StageContext
from stages.contract import SERVING_SIGNATURE
from stages.graphdef.model import function, placeholder, read
from stages.savedmodel import signature

TOOLS = ("tensorflow-cpu",)
KEY = SERVING_SIGNATURE


def run(ctx: StageContext) -> dict:
    import tensorflow as tf

    source = ctx.source
    manifest = source.inherited()
    graph = read(source.file("model"), ctx.user_file_name("model"))
    input_names = [spec["name"] for spec in manifest["inputs"]]
    output_names = [spec["name"] for spec in manifest["outputs"]]
    fn = function(graph, input_names, output_names)
    specs = []
    for spec in manifest["inputs"]:
        dims, _ = placeholder(graph, spec["name"])
        batch = None if not dims or dims[0] is None else spec["shape"][0]
        specs.append(tf.TensorSpec([batch, *spec["shape"][1:]], spec["dtype"], name=spec["name"]))

    @tf.function(input_signature=specs)
    def serve(*args):
        return dict(zip(output_names, fn(*args), strict=True))

    module = tf.Module()
    module.serve = serve
    path = ctx.out / "saved_model"
    tf.saved_model.save(module, str(path), signatures={KEY: serve.get_concrete_function()})
    inputs, outputs = signature.describe(path, KEY, manifest["inputs"], manifest["outputs"])
    return {
        **manifest,
        "format": "savedmodel",
        "precision": "fp32",
        "signature": KEY,
        "files": {"model": "saved_model", **source.carry_to(ctx.out)},
        "inputs": inputs,
        "outputs": outputs,
        "metrics": {"signature": KEY},
    }
