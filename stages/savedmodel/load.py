"""load/savedmodel: a TF SavedModel directory; its serving signature (--signature) computes golden."""
from __future__ import annotations

import shutil

import numpy as np

from stages import samples as samples_lib
from stages.context import StageContext
from stages.savedmodel.model import signature

TOOLS = ("tensorflow-cpu", "numpy")


def run(ctx: StageContext) -> dict:
    import tensorflow as tf

    source = ctx.source
    path, name = source.file("model"), ctx.user_file_name("model")
    key = ctx.option("signature") or "serving_default"
    _, fn = signature(path, name, key)
    shapes = ctx.option("input_shapes", {})
    # TensorFlow's default layout is channels-last.
    inputs = [samples_lib.input_spec(input_name, spec.shape.as_list(), shapes.get(input_name), spec.dtype.name,
                                     "NHWC", name) for input_name, spec in fn.structured_input_signature[1].items()]
    samples_lib.check_shapes_named(shapes, inputs, name)
    feeds, files = samples_lib.reference_inputs(source, inputs, ctx.out)
    outputs = fn(**{k: tf.constant(v) for k, v in feeds.items()})
    golden = {k: np.asarray(v) for k, v in outputs.items()}
    files.update(samples_lib.write_reference(ctx.out, feeds, golden, name))
    shutil.copytree(path, ctx.out / "saved_model")
    files["model"] = "saved_model"
    return {"format": "savedmodel", "files": files, "inputs": inputs,
            "outputs": samples_lib.output_specs(golden, layout4d="NHWC"),
            "source": source.manifest.get("source", {}), "precision": "fp32", "signature": key,
            "metrics": {"signature": key}}
