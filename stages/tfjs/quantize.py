"""quantize/tfjs: fp16 and uint8 ("dynamic") weight quantization of a TFJS graph model.

The converter quantizes weights only; @tensorflow/tfjs dequantizes them to
float32 when it loads the model, so inputs, outputs and compute stay float32.
It converts the SavedModel that emit/tfjs carried, with the same signature.
"""

from __future__ import annotations

from stages.context import StageContext
from stages.contract import signature_of
from stages.errors import StageError
from stages.tfjs import convert

TOOLS = ("tensorflowjs", "tensorflow", "numpy")
MODES = {"fp16": "--quantize_float16=*", "dynamic": "--quantize_uint8=*"}


def run(ctx: StageContext) -> dict:
    mode = ctx.option("mode")
    if mode not in MODES:
        raise StageError(f"unknown TFJS quantization mode {mode!r}; choose one of {', '.join(MODES)}")
    source = ctx.source
    manifest = source.inherited()
    key = signature_of(source.manifest)
    model_dir = ctx.out / f"tfjs_{mode}"
    convert.convert(source.file("saved_model"), model_dir, key, [MODES[mode]], ctx.user_file_name("model"))
    inputs, outputs = convert.describe(model_dir, manifest["inputs"], manifest["outputs"])
    files = {"model": model_dir.name, **source.carry_to(ctx.out)}
    return {
        **manifest,
        "format": "tfjs",
        "precision": mode,
        "signature": key,
        "files": files,
        "inputs": inputs,
        "outputs": outputs,
        "metrics": {"bytes": convert.size(model_dir)},
    }
