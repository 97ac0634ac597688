"""TF's own TFLiteConverter on a SavedModel: the fp32 TFLite file of every route that has one."""
from __future__ import annotations

from pathlib import Path

from stages.errors import StageError


def from_saved_model(saved_model: Path, out: Path, subject: str, signature_key: str | None = None) -> int:
    """Write `out` from `saved_model` (its `signature_key`, default: its only one); returns its size.
    `subject` names the model in the error ("model.onnx", "onnx2tf's SavedModel of model.onnx")."""
    import tensorflow as tf

    try:
        keys = [signature_key] if signature_key else None
        flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=keys).convert()
    except Exception as exc:  # the converter raises many types; its first line names the op
        raise StageError(f"TFLiteConverter could not convert {subject}: {str(exc).splitlines()[0]}") from None
    out.write_bytes(flatbuffer)
    return len(flatbuffer)
