"""load/savedmodel: a TF SavedModel directory; its serving signature (--signature) computes golden."""

from __future__ import annotations

import shutil

import numpy as np

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.contract import SERVING_SIGNATURE
from stages.savedmodel.model import check, signature, tag_set

TOOLS = ("tensorflow-cpu", "numpy")


def tagged_serve(path, tags: list[str], out) -> None:
    """A TF1 SavedModel's meta graph of `tags`, with its variables and signatures, as one tagged serve (its
    saver restores the variables, as loading it does)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default(), v1.Session() as session:
        meta = v1.saved_model.loader.load(session, tags, str(path))
        builder = v1.saved_model.Builder(str(out))
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=dict(meta.signature_def))
        builder.save()


def run(ctx: StageContext) -> dict:
    import tensorflow as tf

    source = ctx.source
    path, name = source.file("model"), ctx.user_file_name("model")
    key = ctx.option("signature") or SERVING_SIGNATURE
    tags = tag_set(path, name, ctx.option("tags", []))
    trust = check(path, name, bool(ctx.option("trust_custom_code")), tags)
    loaded, fn = signature(path, name, key, tags)
    shapes = ctx.option("input_shapes", {})
    # TensorFlow's default layout is channels-last.
    inputs = [
        samples_lib.input_spec(
            input_name, spec.shape.as_list(), shapes.get(input_name), spec.dtype.name, "channels_last", name
        )
        for input_name, spec in fn.structured_input_signature[1].items()
    ]
    samples_lib.check_shapes_named(shapes, inputs, name)
    samples_lib.check_described(ctx.config, inputs, name)
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    batched = all(spec.shape.rank and spec.shape[0] is None for spec in fn.structured_input_signature[1].values())

    def call(run: dict) -> dict:
        return {k: np.asarray(v) for k, v in fn(**{k: tf.constant(v) for k, v in run.items()}).items()}

    golden, written, floor = samples_lib.reference(
        ctx.out, feeds, lambda f: feeding.run_all(call, f, inputs, batched), name, info
    )
    files.update(written)
    metrics, read = {"signature": key, "trust": trust}, {"signature": key, "tags": tags}
    if "serve" in tags:
        shutil.copytree(path, ctx.out / "saved_model")
    else:  # a TF1 SavedModel read with other tags: saved again tagged serve, for the stages after
        tagged_serve(path, tags, ctx.out / "saved_model")
        read["saved_again"] = f"tags {','.join(tags)} -> serve"
    files["model"] = "saved_model"
    return {
        "format": "savedmodel",
        "files": files,
        "inputs": inputs,
        "outputs": samples_lib.output_specs(golden, "channels_last", feeding.sample_count(feeds, inputs)),
        "source": source.manifest.get("source", {}),
        "precision": "fp32",
        "signature": key,
        "metrics": metrics,
        "read": read,
        "noise_floor": floor,
        "samples_info": info,
    }
