"""Bench model (tf runtime): MobileNetV2 (random weights, fixed seed) saved every TF way.

Untrained, the net's activations fade to ~1e-10 by its last block and its output is a constant
0.001 for any input, which no parity check can tell from another. So its BatchNorm statistics
are set from one pass over random images (momentum 0 for that pass): every layer is then
normalized, and the outputs differ from image to image.

    modelferry runtime exec tf -- python bench/models/make_tf.py OUT_DIR

Writes into OUT_DIR: mobilenetv2.keras, mobilenetv2_savedmodel/ (model.export), mobilenetv2.pb
(frozen GraphDef, input "image"), mobilenetv2_ckpt/ (a TF1 checkpoint of that graph: its weights as ref
variables, a serving signature in the .meta), mobilenetv2.tflite (float, TFLiteConverter.from_keras_model),
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


def build(images: np.ndarray) -> keras.Model:
    keras.utils.set_random_seed(0)
    # The stock application; its input layer is named so that every TF source shares one input name.
    # Logits, not softmax: near-uniform probabilities have cosine ~1 with anything, logits do not.
    model = keras.applications.MobileNetV2(
        weights=None, input_tensor=keras.Input((SIZE, SIZE, 3), name=INPUT), classifier_activation=None
    )
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0  # moving statistics := this batch's statistics
    model(images, training=True)
    for layer, momentum in zip(norms, momenta, strict=True):
        layer.momentum = momentum
    return model


def frozen_graph(model: keras.Model) -> bytes:
    fn = tf.function(lambda image: model(image, training=False))
    concrete = fn.get_concrete_function(tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32, name=INPUT))
    return convert_variables_to_constants_v2(concrete).graph.as_graph_def().SerializeToString()


def checkpoint(frozen: bytes, folder: Path) -> None:
    """The frozen graph as a TF1 checkpoint: every float weight a ref variable (VariableV2) read where the
    constant was, saved by tf.compat.v1's Saver with a serving signature in the meta graph."""
    from tensorflow.core.protobuf import meta_graph_pb2

    v1 = tf.compat.v1
    graph_def = v1.GraphDef()
    graph_def.ParseFromString(frozen)
    graph = tf.Graph()
    with graph.as_default():
        reads = {}
        for node in graph_def.node:
            value = tf.make_ndarray(node.attr["value"].tensor) if node.op == "Const" else None
            if value is not None and value.dtype == np.float32 and value.size > 1:
                reads[f"{node.name}:0"] = v1.Variable(value, name=f"weights/{node.name}", use_resource=False).value()
        tf.import_graph_def(graph_def, input_map=reads, name="")
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            v1.train.Saver().save(session, str(folder / "model.ckpt"))
        signature = v1.saved_model.signature_def_utils.predict_signature_def(
            {INPUT: graph.get_tensor_by_name(f"{INPUT}:0")}, {"logits": graph.get_tensor_by_name("Identity:0")}
        )
    meta = meta_graph_pb2.MetaGraphDef()
    meta.ParseFromString((folder / "model.ckpt.meta").read_bytes())
    meta.signature_def["serving_default"].CopyFrom(signature)
    (folder / "model.ckpt.meta").write_bytes(meta.SerializeToString())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (16, SIZE, SIZE, 3)).astype(np.float32)
    model = build(images)
    model.save(out / "mobilenetv2.keras")
    model.export(str(out / "mobilenetv2_savedmodel"), format="tf_saved_model", verbose=False)
    frozen = frozen_graph(model)
    (out / "mobilenetv2.pb").write_bytes(frozen)
    checkpoint(frozen, out / "mobilenetv2_ckpt")
    (out / "mobilenetv2.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    spec = [tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32, name=INPUT)]
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=13, output_path=str(out / "mobilenetv2.onnx"))
    np.savez(out / "calib.npz", **{INPUT: images})
    logits = np.asarray(model(images[:4], training=False))
    print(
        f"MobileNetV2 ({model.count_params():,} parameters) written to {out}; on 4 images: "
        f"top-1 {logits.argmax(1).tolist()}, logits std {logits.std():.3f}"
    )


if __name__ == "__main__":
    main()
