"""Bare hop (tf runtime): Keras -> ONNX with tf2onnx.convert.from_keras (opset 13, dynamic batch).

python bench/bare/keras_onnx.py MODEL.keras
"""

from __future__ import annotations

import argparse

import keras
import tensorflow as tf
import tf2onnx
from timing import emit, expect, scratch, timed

parser = argparse.ArgumentParser()
parser.add_argument("model")
args = parser.parse_args()
model = keras.models.load_model(args.model)
spec = [tf.TensorSpec([None, *t.shape[1:]], t.dtype, name=t.name) for t in model.inputs]

with scratch() as tmp:
    out = tmp / "model.onnx"
    seconds = timed(lambda: tf2onnx.convert.from_keras(model, input_signature=spec, opset=13, output_path=str(out)))
    expect(out, "tf2onnx.convert.from_keras")
emit(seconds, "tf2onnx.convert.from_keras")
