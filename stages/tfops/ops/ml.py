"""ONNX-ML ops (domain ai.onnx.ml) that are tensor arithmetic, as ONNX's reference computes them."""

from __future__ import annotations

import tensorflow as tf

from stages.tfops.table import op

DOMAIN = "ai.onnx.ml"


@op(f"{DOMAIN}:ArrayFeatureExtractor")
def array_feature_extractor(node, x):
    """The last axis' elements at the (flattened) indices; a 1-D input gives one row."""
    data, indices = x
    picked = tf.gather(data, tf.reshape(indices, [-1]), axis=-1)
    return tf.reshape(picked, [1, -1]) if data.shape.rank == 1 else picked


@op(f"{DOMAIN}:Binarizer")
def binarizer(node, x):
    value = x[0]
    return tf.cast(value > node.attr("threshold", 0.0), value.dtype)
