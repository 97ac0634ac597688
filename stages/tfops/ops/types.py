"""ONNX element types as TF dtypes."""

from __future__ import annotations

import tensorflow as tf

from stages.errors import StageError

ONNX_TO_TF = {
    1: tf.float32,
    2: tf.uint8,
    3: tf.int8,
    4: tf.uint16,
    5: tf.int16,
    6: tf.int32,
    7: tf.int64,
    9: tf.bool,
    10: tf.float16,
    11: tf.float64,
    12: tf.uint32,
    13: tf.uint64,
    16: tf.bfloat16,
}


def onnx_type(dtype) -> int:
    return next(code for code, tf_type in ONNX_TO_TF.items() if tf_type == dtype)


def type_proto(tensor):
    """The ONNX TypeProto of a TF tensor (its element type and the dimensions it knows)."""
    from onnx import helper

    dims = None if tensor.shape.rank is None else [d for d in tensor.shape.as_list()]
    return helper.make_tensor_type_proto(onnx_type(tensor.dtype), dims)


def tf_dtype(onnx_type: int):
    try:
        return ONNX_TO_TF[onnx_type]
    except KeyError:
        from onnx import TensorProto

        name = TensorProto.DataType.Name(onnx_type) if onnx_type in TensorProto.DataType.values() else onnx_type
        raise StageError(f"ONNX element type {name} has no TF or TFLite counterpart") from None
