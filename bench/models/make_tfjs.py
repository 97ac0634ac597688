"""Bench models (tfjs runtime): the tf builder's MobileNetV2 SavedModel as a TFJS graph model, converted by
tensorflowjs_converter as its users convert theirs; and the same MobileNetV2 as a TFJS layers model (its
weights in tf_keras' MobileNetV2, written by tensorflowjs.converters.save_keras_model).

    modelferry runtime exec tfjs -- python bench/models/make_tfjs.py OUT_DIR

Reads OUT_DIR/../tf/mobilenetv2_savedmodel and mobilenetv2.keras (the tf builder runs first); writes
OUT_DIR/mobilenetv2/model.json and OUT_DIR/mobilenetv2_layers/model.json, each with its weight shards.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    saved = out.parent / "tf" / "mobilenetv2_savedmodel"
    if not saved.is_dir():
        raise SystemExit(f"{saved} is missing: the tf builder makes it")
    target = out / "mobilenetv2"
    target.mkdir(parents=True, exist_ok=True)
    converter = Path(sys.executable).with_name("tensorflowjs_converter")
    subprocess.run(
        [
            str(converter),
            "--input_format",
            "tf_saved_model",
            "--signature_name",
            "serving_default",
            str(saved),
            str(target),
        ],
        check=True,
    )
    print(f"MobileNetV2 as a TFJS graph model written to {target}")
    layers = out / "mobilenetv2_layers"
    write_layers(out.parent / "tf" / "mobilenetv2.keras", layers)
    print(f"MobileNetV2 as a TFJS layers model written to {layers}")


def write_layers(keras3_file: Path, target: Path) -> None:
    """The tf builder's MobileNetV2 (Keras 3) as tf_keras' MobileNetV2 with the same weights, layer by layer
    (the two applications name their layers alike), written by tensorflowjs as a layers model."""
    import keras
    import tensorflowjs
    import tf_keras

    source = keras.models.load_model(keras3_file, compile=False)
    model = tf_keras.applications.MobileNetV2(
        weights=None, classifier_activation=None, input_tensor=tf_keras.Input(source.inputs[0].shape[1:], name="image")
    )
    copied = 0
    for layer in model.layers:
        weights = source.get_layer(layer.name).get_weights()
        if weights:
            layer.set_weights(weights)
            copied += len(weights)
    if copied != len(source.weights):
        raise SystemExit(f"copied {copied} of the {len(source.weights)} weights of {keras3_file}")
    tensorflowjs.converters.save_keras_model(model, str(target))


if __name__ == "__main__":
    main()
