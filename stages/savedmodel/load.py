"""load/savedmodel: a TF SavedModel directory; its serving signature (--signature) computes golden."""
from __future__ import annotations

import shutil

import numpy as np

from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.savedmodel.model import signature

TOOLS = ("tensorflow-cpu", "numpy")


def run(ctx: StageContext) -> dict:
    import tensorflow as tf

    source = ctx.source
    path, name = source.file("model"), ctx.user_file_name("model")
    key = ctx.option("signature") or "serving_default"
    _, fn = signature(path, name, key)
    shapes = ctx.option("input_shapes", {})
    inputs = []
    for input_name, spec in fn.structured_input_signature[1].items():
        dims = spec.shape.as_list()
        shape = shapes.get(input_name) or [1 if i == 0 and d is None else d for i, d in enumerate(dims)]
        if any(d is None for d in shape):
            raise StageError(f"input {input_name!r} of {name} has dynamic dimensions {dims}; "
                             f"pass --input-shape {input_name}:1,…")
        layout = "NHWC" if len(shape) == 4 else None   # TensorFlow's default layout
        inputs.append({"name": input_name, "shape": [1, *shape[1:]], "dtype": spec.dtype.name,
                       "layout": layout, "source_layout": layout, "source_name": input_name})
    feeds, files = samples_lib.reference_inputs(source, inputs, ctx.out)
    outputs = fn(**{k: tf.constant(v) for k, v in feeds.items()})
    golden = {k: np.asarray(v) for k, v in outputs.items()}
    files.update(samples_lib.write_reference(ctx.out, feeds, golden, name))
    shutil.copytree(path, ctx.out / "saved_model")
    files["model"] = "saved_model"
    return {"format": "savedmodel", "files": files, "inputs": inputs,
            "outputs": samples_lib.output_specs(golden, layout4d="NHWC"),
            "source": source.manifest.get("source", {}), "precision": "fp32",
            "metrics": {"signature": key}}
