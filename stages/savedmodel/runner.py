"""The SavedModel artifact run in TensorFlow (its signature), for validation."""

from __future__ import annotations

import numpy as np

from stages.bundle import Bundle
from stages.contract import signature_of
from stages.validate.runners import run_samples as feed


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import tensorflow as tf

    from stages.savedmodel.model import signature

    path = bundle.file("model")
    _, fn = signature(path, path.name, signature_of(bundle.manifest))

    def call(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: value.numpy() for name, value in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}

    batched = all(spec.shape.rank and spec.shape[0] is None for spec in fn.structured_input_signature[1].values())
    return feed(call, bundle, feeds, batched)
