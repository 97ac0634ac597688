"""Test helper (tfjs runtime): TFJS layers models, written by tensorflowjs as its users write theirs.

    python tests/helpers/make_tfjs_layers.py OUT

- OUT/net/model.json: a functional tf_keras model with two named inputs (an image and a vector) and two named
  outputs (Conv2D, dilated, BatchNormalization, DepthwiseConv2D, pooling, Dense, Concatenate, Softmax),
  fitted a little so that its batch statistics are its own (tensorflowjs.converters.save_keras_model);
- OUT/uint8/model.json: the same model with uint8-quantized weights (tensorflowjs_converter --quantize_uint8);
- OUT/recurrent/model.json: a Sequential LSTM + GRU + Dense (the recurrent cells' weight names);
- OUT/lambda/model.json: a model whose Lambda layer would write OUT/lambda-ran when Keras builds and calls it.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import tensorflowjs as tfjs
import tf_keras as keras
from tf_keras import layers

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

image = keras.Input((16, 16, 3), name="image")
meta = keras.Input((4,), name="meta")
x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(image)
x = layers.BatchNormalization(name="bn")(x)
x = layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="dw")(x)
x = layers.MaxPooling2D(2, name="pool")(x)
x = layers.Conv2D(12, 3, dilation_rate=2, activation="elu", name="dilated")(x)  # (TFJS reads no SeparableConv2D
# that tf_keras writes: it carries kernel_initializer, which tfjs-layers refuses)
x = layers.GlobalAveragePooling2D(name="gap")(x)
x = layers.Concatenate(name="join")([x, layers.Dense(6, activation="tanh", name="meta_dense")(meta)])
probs = layers.Dense(10, activation="softmax", name="probs")(x)
box = layers.Dense(4, name="box")(x)
net = keras.Model([image, meta], [probs, box], name="two_heads")
net.compile("adam", ["sparse_categorical_crossentropy", "mse"])
net.fit(
    [rng.normal(size=(64, 16, 16, 3)).astype("float32") * 2 + 1, rng.normal(size=(64, 4)).astype("float32")],
    [rng.integers(0, 10, 64), rng.normal(size=(64, 4)).astype("float32")],
    epochs=2,
    verbose=0,
)
tfjs.converters.save_keras_model(net, str(out / "net"))
net.save(out / "net.h5", save_format="h5")
subprocess.run(
    [
        str(Path(sys.executable).with_name("tensorflowjs_converter")),
        "--input_format",
        "keras",
        "--quantize_uint8",
        "*",
        str(out / "net.h5"),
        str(out / "uint8"),
    ],
    check=True,
)
(out / "net.h5").unlink()

recurrent = keras.Sequential(
    [
        keras.Input((10, 8), name="series"),
        layers.LSTM(16, return_sequences=True, name="lstm"),
        layers.GRU(8, reset_after=False, name="gru"),  # TFJS has no reset_after GRU
        layers.Dense(3, name="scores"),
    ],
    name="recurrent",
)
tfjs.converters.save_keras_model(recurrent, str(out / "recurrent"))

marker = str(out / "lambda-ran")
value = keras.Input((4,), name="value")
ran = layers.Lambda(lambda t: (open(marker, "w").write("ran"), t)[1], name="evil")(value)  # noqa: SIM115
tfjs.converters.save_keras_model(keras.Model(value, layers.Dense(2, name="out")(ran)), str(out / "lambda"))
if Path(marker).exists():
    Path(marker).unlink()  # building it here ran it once; the test checks that converting does not
print(f"TFJS layers models written to {out}")
