"""load/keras: a Keras model (.keras or legacy .h5), opened in safe mode; Keras computes golden."""

from __future__ import annotations

import shutil

import numpy as np

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.keras.model import load, model_config, unsafe_layers

TOOLS = ("keras", "tensorflow-cpu", "numpy")


def signature(model, shapes: dict, name: str) -> list[dict]:
    # Keras is channels-last.
    inputs = [
        samples_lib.input_spec(
            tensor.name, list(tensor.shape), shapes.get(tensor.name), np.dtype(tensor.dtype).name, "channels_last", name
        )
        for tensor in model.inputs
    ]
    samples_lib.check_shapes_named(shapes, inputs, name)
    return inputs


def output_names(model) -> list[str]:
    """The outputs' names: a functional model's output layers; a Keras 3 Sequential model has no
    `output_names`, and its one output is its last layer's."""
    names = getattr(model, "output_names", None)
    if names:
        return list(names)
    if len(model.outputs) == 1 and model.layers:
        return [model.layers[-1].name]
    return [tensor.name for tensor in model.outputs]


def predict(model, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays = [feeds[tensor.name] for tensor in model.inputs]
    outputs = model(arrays if len(arrays) > 1 else arrays[0], training=False)
    if isinstance(outputs, dict):  # a model built with a dict of outputs: its keys are their names
        return {str(name): np.asarray(value) for name, value in outputs.items()}
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {name: np.asarray(value) for name, value in zip(output_names(model), outputs, strict=True)}


def run(ctx: StageContext) -> dict:
    source = ctx.source
    path, name = source.file("model"), ctx.user_file_name("model")
    trust = bool(ctx.option("trust_custom_code", False))
    model = load(path, name, trust)
    let_through = unsafe_layers(model_config(path, name)) if trust else []
    inputs = signature(model, ctx.option("input_shapes", {}), name)
    samples_lib.check_described(ctx.config, inputs, name)
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    golden, written, floor = samples_lib.reference(ctx.out, feeds, lambda f: predict(model, f), name, info)
    files.update(written)
    copy = f"model{path.suffix}"
    shutil.copyfile(path, ctx.out / copy)
    files["model"] = copy
    return {
        "format": "keras",
        "files": files,
        "inputs": inputs,
        "outputs": samples_lib.output_specs(golden, "channels_last", feeding.sample_count(feeds, inputs)),
        "source": source.manifest.get("source", {}),
        "precision": "fp32",
        "metrics": {
            "trust": {"custom_code_trusted": trust, **({"let_through": let_through} if let_through else {})},
            "layers": len(model.layers),
        },
        "noise_floor": floor,
        "samples_info": info,
    }
