"""load/keras: a Keras model (.keras or legacy .h5), opened in safe mode; Keras computes golden."""
from __future__ import annotations

import shutil

import numpy as np

from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.keras.model import load

TOOLS = ("keras", "tensorflow-cpu", "numpy")


def signature(model, shapes: dict, name: str) -> list[dict]:
    inputs = []
    for tensor in model.inputs:
        input_name = tensor.name
        dims = list(tensor.shape)
        shape = shapes.get(input_name)
        if shape is None:
            shape = [1 if i == 0 and d is None else d for i, d in enumerate(dims)]
            if any(d is None for d in shape):
                raise StageError(f"input {input_name!r} of {name} has dynamic dimensions {dims}; "
                                 f"pass --input-shape {input_name}:1,…")
        layout = "NHWC" if len(shape) == 4 else None   # Keras is channels-last
        inputs.append({"name": input_name, "shape": [1, *shape[1:]], "dtype": np.dtype(tensor.dtype).name,
                       "layout": layout, "source_layout": layout, "source_name": input_name})
    return inputs


def predict(model, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays = [feeds[tensor.name] for tensor in model.inputs]
    outputs = model(arrays if len(arrays) > 1 else arrays[0], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {name: np.asarray(value) for name, value in zip(model.output_names, outputs)}


def run(ctx: StageContext) -> dict:
    source = ctx.source
    path, name = source.file("model"), ctx.user_file_name("model")
    trust = bool(ctx.option("trust_custom_code", False))
    model = load(path, name, trust)
    inputs = signature(model, ctx.option("input_shapes", {}), name)
    feeds, files = samples_lib.reference_inputs(source, inputs, ctx.out)
    golden = predict(model, feeds)
    files.update(samples_lib.write_reference(ctx.out, feeds, golden, name))
    copy = f"model{path.suffix}"
    shutil.copyfile(path, ctx.out / copy)
    files["model"] = copy
    return {"format": "keras", "files": files, "inputs": inputs,
            "outputs": samples_lib.output_specs(golden, layout4d="NHWC"),
            "source": source.manifest.get("source", {}), "precision": "fp32",
            "metrics": {"trusted_custom_code": trust, "layers": len(model.layers)}}
