"""Bench model (tf runtime): MobileNetV2 (random weights, fixed seed) saved every TF way.

    modelferry runtime exec tf -- python bench/models/make_tf.py OUT_DIR

Writes into OUT_DIR: mobilenetv2.keras, mobilenetv2_savedmodel/ (model.export), mobilenetv2.pb
(frozen GraphDef, input "image"), mobilenetv2.tflite (float, TFLiteConverter.from_keras_model),
mobilenetv2.onnx (tf2onnx.convert.from_keras, opset 13) and calib.npz (random 0..255 images
under the input's name, "image", which every TF source uses).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import tf2onnx
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

SIZE = 224
INPUT = "image"


def build() -> keras.Model:
    keras.utils.set_random_seed(0)
    # The stock application; its input layer is named so that every TF source shares one input name.
    return keras.applications.MobileNetV2(weights=None, input_tensor=keras.Input((SIZE, SIZE, 3), name=INPUT))


def frozen_graph(model: keras.Model) -> bytes:
    fn = tf.function(lambda image: model(image, training=False))
    concrete = fn.get_concrete_function(tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32, name=INPUT))
    return convert_variables_to_constants_v2(concrete).graph.as_graph_def().SerializeToString()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    model = build()
    model.save(out / "mobilenetv2.keras")
    model.export(str(out / "mobilenetv2_savedmodel"), format="tf_saved_model", verbose=False)
    (out / "mobilenetv2.pb").write_bytes(frozen_graph(model))
    (out / "mobilenetv2.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    spec = [tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32, name=INPUT)]
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=13, output_path=str(out / "mobilenetv2.onnx"))
    rng = np.random.default_rng(0)
    np.savez(out / "calib.npz", **{INPUT: rng.uniform(0, 255, (16, SIZE, SIZE, 3)).astype(np.float32)})
    print(f"MobileNetV2 ({model.count_params():,} parameters) written to {out}")


if __name__ == "__main__":
    main()
