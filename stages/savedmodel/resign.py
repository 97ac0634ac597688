"""A SavedModel's serving signature keyed by the model's own tensor names.

onnx2tf and Keras' export() key a signature's outputs `output_0`, `output_1`…
in the order of the model's outputs (ONNX `graph.output`, Keras
`model.outputs`). That order is the map back to the names: the SavedModel
is saved again with a signature that returns {name: tensor}, so it, and the
TFLite and TFJS files made from it, carry the source's names.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

POSITIONAL = re.compile(r"^output_(\d+)$")


def positional_names(keys: list[str], outputs: list[dict]) -> dict[str, str] | None:
    """output_N -> the N-th output's name, when the keys are exactly output_0..output_{n-1}."""
    indices = [POSITIONAL.match(key) for key in keys]
    if (
        len(keys) != len(outputs)
        or not all(indices)
        or sorted(int(m.group(1)) for m in indices) != list(range(len(outputs)))
    ):
        return None
    return {key: outputs[int(m.group(1))]["name"] for key, m in zip(keys, indices, strict=True)}


def resign(saved_model: Path, out: Path, key: str, outputs: list[dict]) -> Path:
    """`saved_model` as `out`, its signature `key` returning the outputs under their names."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(saved_model))
    fn = loaded.signatures[key]
    names = positional_names(list(fn.structured_outputs), outputs)
    if names is None or all(k == v for k, v in names.items()):
        if saved_model != out:
            shutil.copytree(saved_model, out)
        return out
    specs = fn.structured_input_signature[1]
    input_keys = list(specs)

    @tf.function(input_signature=[tf.TensorSpec(spec.shape, spec.dtype, name=name) for name, spec in specs.items()])
    def serve(*args):
        result = fn(**dict(zip(input_keys, args, strict=True)))
        return {names[k]: v for k, v in result.items()}

    module = tf.Module()
    module.model = loaded  # keeps the variables
    module.serve = serve
    tf.saved_model.save(module, str(out), signatures={key: serve.get_concrete_function()})
    return out
