"""ONNX element types as TF dtypes."""
from __future__ import annotations

import tensorflow as tf

from stages.errors import StageError

ONNX_TO_TF = {1: tf.float32, 2: tf.uint8, 3: tf.int8, 4: tf.uint16, 5: tf.int16, 6: tf.int32, 7: tf.int64,
              9: tf.bool, 10: tf.float16, 11: tf.float64, 12: tf.uint32, 13: tf.uint64, 16: tf.bfloat16}


def tf_dtype(onnx_type: int):
    try:
        return ONNX_TO_TF[onnx_type]
    except KeyError:
        raise StageError(f"ONNX element type {onnx_type} has no TF dtype") from None
