"""emit/onnx-tfops: ONNX -> TF SavedModel by modelferry's own op-by-op translation (stages/tfops).

The fallback that guesses nothing: every ONNX op becomes the TF ops that compute what the ONNX spec
says, in ONNX's own layouts (channels-first stays channels-first, with transposes around TF's
channels-last kernels), at the inputs' static shapes. Slower graphs than onnx2tf's NHWC ones; its
TFLite file comes from TF's converter like every other."""

from __future__ import annotations

from stages.context import StageContext
from stages.errors import StageError
from stages.savedmodel import from_onnx
from stages.tfops import convert

TOOLS = ("tensorflow-cpu", "onnx")


def _translate(path, inputs, outputs, saved_model) -> None:
    try:
        convert.save(path, inputs, outputs, saved_model)
    except StageError as exc:
        raise StageError(f"modelferry's ONNX -> TF translation: {exc}") from None


def run(ctx: StageContext) -> dict:
    return from_onnx.emit(ctx, _translate, passes=("gelu",))  # GELU in the form TFLite fuses
