"""quantize/tflite: fp16, dynamic-range and full-int8 TFLite from the emitted SavedModel.

TF's own TFLiteConverter does the quantization (onnx2tf would run a whole
conversion again per mode). int8 calibrates on the user's calibration set,
preprocessed the way the stripped model expects and laid out NHWC; its
inputs and outputs are int8 with the scale and zero point in the manifest.
"""

from __future__ import annotations

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.contract import SERVING_SIGNATURE
from stages.errors import StageError
from stages.tflite import signature

TOOLS = ("tensorflow-cpu", "ai-edge-litert", "numpy")


def _fp16(converter, tf, calibration):
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]


def _dynamic(converter, tf, calibration):
    converter.optimizations = [tf.lite.Optimize.DEFAULT]


def _int8(converter, tf, calibration):
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8


MODES = {"fp16": _fp16, "dynamic": _dynamic, "int8": _int8}


def _signature_inputs(saved_model: str, inputs: list[dict]) -> list[str]:
    """The SavedModel's serving input names, in the order of `inputs`, matched by name."""
    import tensorflow as tf

    keys = list(tf.saved_model.load(saved_model).signatures[SERVING_SIGNATURE].structured_input_signature[1])
    if len(keys) == 1 and len(inputs) == 1:
        return keys
    names = []
    for spec in inputs:
        found = next((name for name in (spec["name"], spec["source_name"]) if name in keys), None)
        if found is None:
            raise StageError(f"the SavedModel to quantize has inputs {keys}; none is named {spec['source_name']!r}")
        names.append(found)
    return names


def _calibration(ctx: StageContext, inputs: list[dict]):
    source = ctx.source
    if not source.has("calibration"):
        raise StageError(
            "int8 quantization needs calibration data: pass --calibration FILE.npz "
            "(arrays keyed by input name, shaped like the model's inputs)"
        )
    arrays = samples_lib.load_npz(source.file("calibration"), "calibration file")
    arrays = samples_lib.apply_preprocess(arrays, source.manifest.get("preprocess"))
    names = _signature_inputs(str(source.file("saved_model")), inputs)

    def dataset():
        for run in feeding.runs(arrays, [{**spec, "name": spec["source_name"]} for spec in inputs], batched=False):
            yield {
                name: samples_lib.to_target_layout(run[spec["source_name"]], spec)
                for name, spec in zip(names, inputs, strict=True)
            }

    return dataset


def run(ctx: StageContext) -> dict:
    import tensorflow as tf

    mode = ctx.option("mode")
    if mode not in MODES:
        raise StageError(f"unknown quantization mode {mode!r}; choose one of {', '.join(MODES)}")
    source = ctx.source
    if not source.has("saved_model"):
        raise StageError("TF's TFLiteConverter quantizes from a SavedModel, and this TFLite file was not made from one")
    manifest = source.inherited()
    calibration = _calibration(ctx, manifest["inputs"]) if mode == "int8" else None
    converter = tf.lite.TFLiteConverter.from_saved_model(str(source.file("saved_model")))
    MODES[mode](converter, tf, calibration)
    try:
        flatbuffer = converter.convert()
    except Exception as exc:  # the converter raises many types; its first line names the op
        raise StageError(f"TFLite {mode} quantization failed: {str(exc).splitlines()[0]}") from None
    name = f"model_{mode}.tflite"
    (ctx.out / name).write_bytes(flatbuffer)
    inputs, outputs = signature.describe(ctx.out / name, manifest["inputs"], manifest["outputs"])  # layouts as made
    files = {"model": name, **source.carry_to(ctx.out)}
    return {
        **manifest,
        "format": "tflite",
        "precision": mode,
        "files": files,
        "inputs": inputs,
        "outputs": outputs,
        "metrics": {"bytes": len(flatbuffer)},
    }
