"""Bare hop (tf runtime): Keras or SavedModel -> TFLite fp32 with TF's TFLiteConverter.

python bench/bare/tflite_converter.py --keras MODEL.keras
python bench/bare/tflite_converter.py --saved-model DIR [--signature KEY]
"""

from __future__ import annotations

import argparse

import tensorflow as tf
from timing import emit, timed

parser = argparse.ArgumentParser()
source = parser.add_mutually_exclusive_group(required=True)
source.add_argument("--keras")
source.add_argument("--saved-model")
parser.add_argument("--signature", default="serving_default")
args = parser.parse_args()

if args.keras:
    import keras

    model = keras.models.load_model(args.keras)
    make = lambda: tf.lite.TFLiteConverter.from_keras_model(model)  # noqa: E731
    converter = "TFLiteConverter.from_keras_model"
else:
    make = lambda: tf.lite.TFLiteConverter.from_saved_model(args.saved_model, signature_keys=[args.signature])  # noqa: E731
    converter = "TFLiteConverter.from_saved_model"
flatbuffers: list[bytes] = []
seconds = timed(lambda: flatbuffers.append(make().convert()))
if not flatbuffers[0]:
    raise SystemExit(f"{converter} returned an empty model")
emit(seconds, converter)
