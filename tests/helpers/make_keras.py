"""Test helper (tf runtime): a small Keras CNN trained briefly on scikit-learn's digits.

The digits come from the example's labels.npz (8x8 digits upscaled to 112x112);
they are taken back to 8x8x1, values 0..255. Writes digits.keras, digits.h5,
lambda.keras and lambda.h5 (the same net with a Lambda layer), two_ends.keras (its logits and softmax
as a dict of outputs), digits_savedmodel/
(model.export), calib.npz, and the same net as a frozen GraphDef (digits.pb; two_ends.pb
returns logits and softmax, so its outputs must be named) and as a float TFLite file (digits.tflite).
"""

import argparse
from pathlib import Path

import keras
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("labels")
parser.add_argument("out", type=Path)
args = parser.parse_args()

held = np.load(args.labels)
images = held["data"][:, 0, ::14, ::14, None].astype(np.float32)  # N,8,8,1 in 0..255
labels = held["label"]
keras.utils.set_random_seed(0)


def net(with_lambda: bool) -> keras.Model:
    inp = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Rescaling(1 / 255.0)(inp)
    if with_lambda:
        x = keras.layers.Lambda(lambda t: t * 1.0, name="identity_lambda")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(10, name="logits")(x)
    return keras.Model(inp, out)


args.out.mkdir(parents=True, exist_ok=True)
model = net(with_lambda=False)
model.compile(
    optimizer=keras.optimizers.Adam(0.01),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(images[:160], labels[:160], epochs=80, batch_size=32, verbose=0)
accuracy = model.evaluate(images[160:], labels[160:], verbose=0)[1]
model.save(args.out / "digits.keras")
model.save(args.out / "digits.h5")
odd = net(with_lambda=True)
odd.save(args.out / "lambda.keras")
odd.save(args.out / "lambda.h5")
# Its outputs as a dict, keyed by their names (a functional model built with `outputs={...}`).
ends = keras.Model(model.input, {"logits": model.output, "probabilities": keras.layers.Softmax()(model.output)})
ends.save(args.out / "two_ends.keras")
np.savez(args.out / "calib.npz", image=images[:64])
print(f"held-out accuracy {accuracy:.3f}")
model.export(str(args.out / "digits_savedmodel"), format="tf_saved_model", verbose=False)

# A frozen GraphDef, as TF 1.x-era tools left them: weights folded into constants.
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2  # noqa: E402


def frozen(fn) -> bytes:
    concrete = tf.function(fn).get_concrete_function(tf.TensorSpec([None, 8, 8, 1], tf.float32, name="image"))
    return convert_variables_to_constants_v2(concrete).graph.as_graph_def().SerializeToString()


(args.out / "digits.pb").write_bytes(frozen(lambda image: model(image, training=False)))
(args.out / "two_ends.pb").write_bytes(
    frozen(lambda image: (model(image, training=False), tf.nn.softmax(model(image, training=False))))
)
(args.out / "digits.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
