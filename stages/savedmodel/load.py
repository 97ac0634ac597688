"""load/savedmodel: a TF SavedModel directory; its serving signature (--signature) computes golden."""
from __future__ import annotations

import shutil

import numpy as np

from stages import feeding, samples as samples_lib
from stages.context import StageContext
from stages.savedmodel.model import check, signature

TOOLS = ("tensorflow-cpu", "numpy")


def run(ctx: StageContext) -> dict:
    import tensorflow as tf

    source = ctx.source
    path, name = source.file("model"), ctx.user_file_name("model")
    key = ctx.option("signature") or "serving_default"
    trust = check(path, name, bool(ctx.option("trust_custom_code")))
    _, fn = signature(path, name, key)
    shapes = ctx.option("input_shapes", {})
    # TensorFlow's default layout is channels-last.
    inputs = [samples_lib.input_spec(input_name, spec.shape.as_list(), shapes.get(input_name), spec.dtype.name,
                                     "channels_last", name)
              for input_name, spec in fn.structured_input_signature[1].items()]
    samples_lib.check_shapes_named(shapes, inputs, name)
    samples_lib.check_described(ctx.config, inputs, name)
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    batched = all(spec.shape.rank and spec.shape[0] is None for spec in fn.structured_input_signature[1].values())

    def call(run: dict) -> dict:
        return {k: np.asarray(v) for k, v in fn(**{k: tf.constant(v) for k, v in run.items()}).items()}

    golden, written, floor = samples_lib.reference(
        ctx.out, feeds, lambda f: feeding.run_all(call, f, inputs, batched), name, info)
    files.update(written)
    shutil.copytree(path, ctx.out / "saved_model")
    files["model"] = "saved_model"
    return {"format": "savedmodel", "files": files, "inputs": inputs,
            "outputs": samples_lib.output_specs(golden, "channels_last", feeding.sample_count(feeds, inputs)),
            "source": source.manifest.get("source", {}), "precision": "fp32", "signature": key,
            "metrics": {"signature": key, "trust": trust}, "noise_floor": floor, "samples_info": info}
