"""load/tfjs-layers: a TFJS layers model (model.json holding a Keras topology, + its weight shards) becomes
a Keras model.

The topology is checked before Keras sees it (no Lambda, no class outside Keras' own layers, as a Keras
source is: stages/keras/model.py), then rebuilt with tf_keras (the Keras that reads TFJS' Keras 2
configs) and given the shards' weights by name (dequantized as TFJS does: stages/tfjs/rebuild.py); a weight
the model needs and the manifest lacks, or one of another shape, is named. The golden outputs come from
Node.js running the user's own model.json with @tensorflow/tfjs' loadLayersModel, as the model's users run
it. The bundle is a Keras .h5 the stages after read with Keras 3: tf_keras' weights under the model's own
topology (tf_keras writes configs Keras 3 does not read: a DepthwiseConv2D's `groups`), opened here with
Keras 3 and held to Node's outputs before it is written, so a weight put in the wrong place or a layer
Keras 3 reads otherwise is caught here, not blamed on a converter later. Every Keras route starts from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.keras.load import output_names, predict, signature
from stages.keras.model import refuse_unsafe
from stages.tfjs import rebuild
from stages.tfjs.node import NodeGraphModel, fed, outputs_of
from stages.validate.compare import compare
from stages.validate.gates import Gates

TOOLS = ("tf-keras", "keras", "tensorflow-cpu", "numpy", "@tensorflow/tfjs")
# Arguments Keras 2 (tf_keras, and tensorflowjs writing its models) puts in a layer's config that Keras 3's
# class does not take, with the one value Keras 3 means without them: dropped at that value, else refused.
# TRAINING: what only training reads (initializers, regularizers, constraints), dropped whatever it is.
TRAINING = object()
_GROUPS = {"groups": 1}
_RECURRENT = {"time_major": False}
KERAS2_ONLY = {
    **dict.fromkeys(
        ("DepthwiseConv1D", "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"), _GROUPS
    ),
    **dict.fromkeys(
        ("SeparableConv1D", "SeparableConv2D"),
        {**_GROUPS, "kernel_initializer": TRAINING, "kernel_regularizer": TRAINING, "kernel_constraint": TRAINING},
    ),
    **dict.fromkeys(("LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"), _RECURRENT),
    **dict.fromkeys(("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"), {"trainable": TRAINING}),
}


def topology(path, name: str) -> tuple[dict, dict]:
    """model.json and its Keras model config."""
    try:
        model = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StageError(f"{name} is not a readable TFJS model.json: {exc}") from None
    top = model.get("modelTopology") if isinstance(model, dict) else None
    config = top.get("model_config", top) if isinstance(top, dict) else None
    if not isinstance(config, dict) or "class_name" not in config:
        raise StageError(f"{name} holds no Keras model (modelTopology.model_config with a class_name)")
    return model, config


def check_classes(config: dict, name: str, trust: bool) -> list[str]:
    """Refuse what would run code (Lambda, a class outside Keras), unless trusted; then every layer's class
    must be one of Keras' own (tf_keras.layers), named with its layer where it is not."""
    import tf_keras

    risky = refuse_unsafe(config, name, trust)
    layers = (config.get("config") or {}).get("layers", []) if isinstance(config.get("config"), dict) else []
    unknown = [
        f"{layer.get('name', (layer.get('config') or {}).get('name', '?'))} ({layer.get('class_name')})"
        for layer in layers
        if isinstance(layer, dict)
        and not isinstance(getattr(tf_keras.layers, str(layer.get("class_name")), None), type)
    ]
    if unknown and not trust:
        raise StageError(
            f"{name} has layers that are not Keras' own: {', '.join(unknown[:5])}; a TFJS custom "
            f"layer's code is JavaScript, which modelferry cannot rebuild"
        )
    return risky


def rebuilt(config: dict, weights: dict[str, np.ndarray], name: str):
    """The tf_keras model of the topology, each of its weights set from the manifest by name."""
    import tf_keras
    from tensorflowjs.converters.keras_h5_conversion import normalize_weight_name

    try:
        model = tf_keras.models.model_from_json(json.dumps(config))
    except (ValueError, TypeError, KeyError) as exc:
        raise StageError(
            f"{name}: its Keras topology does not build in tf_keras {tf_keras.__version__}: {str(exc).splitlines()[0]}"
        ) from None
    values = []  # tensorflowjs' keras_tfjs_loader maps them so, but names no weight it cannot find
    for layer in model.layers:
        for variable in layer.weights:
            wanted = normalize_weight_name(variable.name)
            tokens = wanted.split("/")  # TF 2.2+ names a recurrent cell's weights layer/cell/weight
            key = wanted if wanted in weights else "/".join(tokens[:-2] + tokens[-1:])
            if key not in weights:
                raise StageError(
                    f"{name}: layer {layer.name!r} needs the weight {wanted!r}, which its weightsManifest does not hold"
                )
            if tuple(weights[key].shape) != tuple(variable.shape):
                raise StageError(
                    f"{name}: weight {key!r} of layer {layer.name!r} is shaped "
                    f"{list(weights[key].shape)} in the shards; the layer needs {list(variable.shape)}"
                )
            values.append(weights[key].astype(variable.dtype.as_numpy_dtype))
    model.set_weights(values)
    return model


def for_keras3(config, name: str):
    """The topology with KERAS2_ONLY's arguments dropped, in every layer however nested."""
    if isinstance(config, list):
        return [for_keras3(value, name) for value in config]
    if not isinstance(config, dict):
        return config
    fixed = {key: for_keras3(value, name) for key, value in config.items()}
    dropped = KERAS2_ONLY.get(config.get("class_name"), {})
    layer = fixed.get("config")
    if dropped and isinstance(layer, dict):
        for argument, value in dropped.items():
            if argument in layer and value is not TRAINING and layer[argument] != value:
                raise StageError(
                    f"{name}: layer {layer.get('name')!r} ({config['class_name']}) has {argument}="
                    f"{layer[argument]!r}, which Keras 3 cannot express"
                )
            layer.pop(argument, None)
    return fixed


def as_keras3(model, config: dict, path: Path, name: str):
    """`model` saved as a Keras .h5 at `path` with the model's own topology, and opened in Keras 3."""
    import h5py
    import keras

    model.save(path, save_format="h5")
    with h5py.File(path, "r+") as handle:
        handle.attrs["model_config"] = json.dumps(for_keras3(config, name))
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except (ValueError, TypeError, KeyError) as exc:
        raise StageError(
            f"{name}: Keras {keras.__version__}, which the Keras routes run, does not read its "
            f"topology: {str(exc).splitlines()[0][:300]}"
        ) from None


def agree(keras_out: dict[str, np.ndarray], golden: dict[str, np.ndarray], name: str) -> None:
    """The rebuilt Keras model held to Node.js's outputs under the fp32 gate every artifact meets."""
    for output, expected in golden.items():
        got = keras_out[output]
        if got.shape != expected.shape:
            raise StageError(
                f"{name}: output {output!r} of the Keras model rebuilt from it is shaped "
                f"{list(got.shape)}; Node.js gives {list(expected.shape)}"
            )
        metrics = compare(expected, got)
        passed, _ = Gates().check("fp32", metrics, expected)
        if not passed:
            raise StageError(
                f"{name}: the Keras model rebuilt from it differs from Node.js at output {output!r} "
                f"(max abs error {metrics['max_abs_err']:.3g}): its weights do not map onto Keras' "
                f"layers as TFJS maps them"
            )


def run(ctx: StageContext) -> dict:
    source = ctx.source
    path, name = source.file("model"), ctx.user_file_name("model")
    trust = bool(ctx.option("trust_custom_code"))
    manifest, config = topology(path, name)
    let_through = check_classes(config, name, trust)
    model = as_keras3(
        rebuilt(config, rebuild.weights(manifest, path.parent, name), name), config, ctx.out / "model.h5", name
    )
    inputs = signature(model, ctx.option("input_shapes", {}), name)
    samples_lib.check_described(ctx.config, inputs, name)
    node = NodeGraphModel(
        path.parent, fed(inputs, name), output_names(model), model_json=path.name, layers=True, shown=name
    )
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    batched = all(tensor.shape[0] is None for tensor in model.inputs)

    def golden_of(f: dict) -> dict:
        golden = outputs_of(node, f, inputs, batched)
        agree(feeding.run_all(lambda feed: predict(model, feed), f, inputs, batched), golden, name)
        return golden

    golden, written, floor = samples_lib.reference(ctx.out, feeds, golden_of, name, info)
    files.update(written)
    files["model"] = "model.h5"
    quantized = sorted(
        {
            w["quantization"]["dtype"]
            for group in manifest.get("weightsManifest", [])
            for w in group.get("weights", [])
            if w.get("quantization")
        }
    )
    trusted = {"custom_code_trusted": trust, **({"let_through": let_through} if let_through else {})}
    return {
        "format": "keras",
        "files": files,
        "inputs": inputs,
        "outputs": samples_lib.output_specs(golden, "channels_last", feeding.sample_count(feeds, inputs)),
        "source": source.manifest.get("source", {}),
        "precision": "fp32",
        "metrics": {"layers": len(model.layers), "trust": trusted},
        "read": {
            "rebuilt": "Keras .h5 (tf_keras weights, the model's own topology, read by Keras 3)",
            "golden": "Node.js @tensorflow/tfjs loadLayersModel",
            "layers": len(model.layers),
            "quantized_weights": quantized,
        },
        "noise_floor": floor,
        "samples_info": info,
    }
