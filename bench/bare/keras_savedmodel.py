"""Bare hop (tf runtime): Keras -> TF SavedModel with Keras' model.export().

python bench/bare/keras_savedmodel.py MODEL.keras
"""

from __future__ import annotations

import argparse

import keras
from timing import emit, expect, scratch, timed

parser = argparse.ArgumentParser()
parser.add_argument("model")
args = parser.parse_args()
model = keras.models.load_model(args.model)
with scratch() as tmp:
    out = tmp / "saved_model"
    seconds = timed(lambda: model.export(str(out), format="tf_saved_model", verbose=False))
    expect(out / "saved_model.pb", "model.export")
emit(seconds, "keras model.export")
