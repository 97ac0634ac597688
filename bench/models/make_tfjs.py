"""Bench models (tfjs runtime): the tf builder's MobileNetV2 SavedModel as a TFJS graph model, converted by
tensorflowjs_converter as its users convert theirs; and a MobileNetV2 as a TFJS layers model (tf_keras'
MobileNetV2, random weights, seed 0, written by tensorflowjs.converters.save_keras_model).

    modelferry runtime exec tfjs -- python bench/models/make_tfjs.py OUT_DIR

Reads OUT_DIR/../tf/mobilenetv2_savedmodel (the tf builder runs first); writes OUT_DIR/mobilenetv2/model.json
and OUT_DIR/mobilenetv2_layers/model.json, each with its weight shards.
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
    subprocess.run([str(converter), "--input_format", "tf_saved_model", "--signature_name", "serving_default",
                    str(saved), str(target)], check=True)
    print(f"MobileNetV2 as a TFJS graph model written to {target}")
    import tensorflowjs
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    layers = out / "mobilenetv2_layers"
    tensorflowjs.converters.save_keras_model(tf_keras.applications.MobileNetV2(weights=None), str(layers))
    print(f"MobileNetV2 as a TFJS layers model written to {layers}")


if __name__ == "__main__":
    main()
