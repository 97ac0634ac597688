"""emit/onnx-tf: ONNX (opset 11) -> TF SavedModel with onnx-tf 1.10, in its own runtime (TF 2.15.1).

A fallback where onnx2tf fails or misses the gate: onnx-tf keeps ONNX's semantics op for op and its
layouts (channels-first stays channels-first, with transposes around each convolution), so it makes
no layout guesses; the price is slower TF graphs. Its SavedModel's signature takes and returns the
graph's tensors by name."""

from __future__ import annotations

from stages.context import StageContext
from stages.errors import StageError
from stages.savedmodel import from_onnx

TOOLS = ("onnx-tf", "tensorflow-cpu", "onnx")


def _reason(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:400]  # TF's trace ends with the cause


def _convert(path, inputs, outputs, saved_model) -> None:
    import onnx
    from onnx_tf.backend import prepare

    try:
        prepare(onnx.load(str(path))).export_graph(str(saved_model))
    except Exception as exc:  # onnx-tf raises whatever its handler or TF raises
        raise StageError(f"onnx-tf could not convert the model: {_reason(exc)}") from None


def run(ctx: StageContext) -> dict:
    return from_onnx.emit(ctx, _convert)
