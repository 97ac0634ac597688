"""What the handlers of the own ONNX -> TF translation share with its evaluator: the error for an op it
cannot translate, and a tensor's value where it is known when the graph is built."""

from __future__ import annotations

import numpy as np

from stages.errors import StageError


class Unsupported(StageError):
    """An op (or a form of it) this translation has no handler for."""


def static(tensor) -> np.ndarray | None:
    """The value of a tensor known when the graph is built (a constant, or folded from constants)."""
    import tensorflow as tf

    if tensor is None:
        return None
    value = tf.get_static_value(tensor)
    return None if value is None else np.asarray(value)
