"""Test helper (tf runtime): MTCNN's PNet in Keras, as MTCNN ports define it (3x3 convolutions, PReLU
shared over space, 2x2 max pooling, a softmax face score and a 4-value box head), weights seeded.

    python tests/helpers/make_keras_pnet.py OUT      -> OUT/pnet.keras
"""

import sys
from pathlib import Path

import keras
import numpy as np
from keras import layers

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
keras.utils.set_random_seed(0)

image = keras.Input((48, 48, 3), name="image")
x = image
for index, filters in enumerate((10, 16, 32), start=1):
    x = layers.Conv2D(filters, 3, name=f"conv{index}")(x)
    x = layers.PReLU(shared_axes=[1, 2], name=f"prelu{index}")(x)
    if index == 1:
        x = layers.MaxPooling2D(2, name="pool1")(x)
score = layers.Softmax(axis=-1, name="prob")(layers.Conv2D(2, 1, name="conv4_1")(x))
box = layers.Conv2D(4, 1, name="box")(x)
model = keras.Model(image, [score, box], name="pnet")
for layer in model.layers:  # PReLU slopes that differ per channel, not Keras' zeros
    if isinstance(layer, layers.PReLU):
        layer.set_weights([np.random.uniform(0.05, 0.4, layer.get_weights()[0].shape).astype(np.float32)])
model.save(out / "pnet.keras")
