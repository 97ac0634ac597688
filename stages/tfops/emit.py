"""emit/onnx-tfops: ONNX -> TF SavedModel by modelferry's own op-by-op translation (stages/tfops).

The fallback that guesses nothing: every ONNX op becomes the TF ops that compute what the ONNX spec
says, in ONNX's own layouts (channels-first stays channels-first, with transposes around TF's
channels-last kernels), at the inputs' static shapes. Slower graphs than onnx2tf's NHWC ones; its
TFLite file comes from TF's converter like every other."""
from __future__ import annotations

import tempfile
from pathlib import Path

from stages.context import StageContext
from stages.errors import StageError
from stages.onnx import names
from stages.savedmodel import signature
from stages.tfops import convert

TOOLS = ("tensorflow-cpu", "onnx")


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    with tempfile.TemporaryDirectory(prefix="tfops-") as tmp:
        path, inputs, outputs = names.safe_copy(source.file("model"), Path(tmp) / "model.onnx",
                                                manifest["inputs"], manifest["outputs"])
        try:
            convert.save(path, inputs, outputs, ctx.out / "saved_model")
        except StageError as exc:
            raise StageError(f"modelferry's ONNX -> TF translation: {exc}") from None
    inputs, outputs = signature.describe(ctx.out / "saved_model", convert.SIGNATURE, inputs, outputs)
    return {**manifest, "format": "savedmodel", "precision": "fp32", "signature": convert.SIGNATURE,
            "files": {"model": "saved_model", **source.carry_to(ctx.out)}, "inputs": inputs, "outputs": outputs,
            "metrics": {"signature": convert.SIGNATURE}}
