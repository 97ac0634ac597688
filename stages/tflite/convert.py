"""TF's own TFLiteConverter on a SavedModel: the fp32 TFLite file of every route that has one."""

from __future__ import annotations

import re
from pathlib import Path

from stages.errors import StageError


def from_saved_model(saved_model: Path, out: Path, subject: str, signature_key: str | None = None) -> int:
    """Write `out` from `saved_model` (its `signature_key`, default: its only one); returns its size.
    `subject` names the model in the error ("model.onnx", "onnx2tf's SavedModel of model.onnx")."""
    import tensorflow as tf

    try:
        keys = [signature_key] if signature_key else None
        flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=keys).convert()
    except Exception as exc:  # the converter raises many types; its message names the op somewhere in it
        raise StageError(f"TFLiteConverter could not convert {subject}: {reason(str(exc))}") from None
    out.write_bytes(flatbuffer)
    return len(flatbuffer)


NO_BUILTIN = re.compile(r"'tf\.(?P<op>\w+)' op is neither a custom op nor a flex op")
NO_TYPE = re.compile(r"Failed to convert element type '(?P<type>[^']+)'")
WHERE = re.compile(r'fused\["(?P<op>\w+):", "(?P<node>[^"@]+)@')


def reason(message: str) -> str:
    """The converter's error in one line: the TF op TFLite has no builtin for (and the node it came from),
    or the element type it cannot hold, else its first line."""
    where = WHERE.search(message)
    node = f" (node {where['node']})" if where else ""
    if found := NO_BUILTIN.search(message):
        return f"TF op {found['op']}{node} has no TFLite builtin (it would need the Flex delegate)"
    if found := NO_TYPE.search(message):
        return f"TFLite has no element type {found['type']}{node}"
    return message.splitlines()[0] if message else "no message"
