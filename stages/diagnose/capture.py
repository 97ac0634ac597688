"""The artifact side of a layer-by-layer comparison: every float tensor a target computes on one run.

One capturer per artifact format. Tensors come back by the artifact's own names (onnx2tf's,
TF's converter's): stages/diagnose/locate.py pairs them with the ONNX graph's by value."""

from __future__ import annotations

from typing import Callable

import numpy as np

from stages.bundle import Bundle
from stages.contract import signature_of
from stages.errors import StageError

CAPTURES: dict[str, Callable[[Bundle, dict], dict[str, np.ndarray]]] = {}


def capture(fmt: str):
    def register(fn):
        CAPTURES[fmt] = fn
        return fn

    return register


@capture("tflite")
def tflite(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every tensor LiteRT keeps when told to keep them all (int8 ones dequantized)."""
    from stages.tflite.signature import TFLiteModel

    model = TFLiteModel(bundle.file("model"), keep_all_tensors=True)
    model(feeds)
    found = {}
    for details in model.interpreter.get_tensor_details():
        try:
            value = np.asarray(model.interpreter.get_tensor(details["index"]))
        except ValueError:  # a tensor with no data (a scratch buffer)
            continue
        scale, zero_point = details.get("quantization") or (0.0, 0)
        if value.dtype.kind in "iu" and scale:
            value = (value.astype(np.float32) - zero_point) * scale
        if value.dtype.kind == "f" and value.size:
            found[details["name"]] = value.astype(np.float32)
    return found


@capture("savedmodel")
def savedmodel(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every float tensor of the signature's graph, frozen and inlined (variables become constants)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from stages.savedmodel.model import signature

    path = bundle.file("model")
    _, fn = signature(path, path.name, signature_of(bundle.manifest))
    frozen = convert_variables_to_constants_v2(fn)
    graph_def = frozen.graph.as_graph_def()
    skip = {"Const", "Placeholder", "NoOp", "Identity", "Shape", "ShapeN", "Size", "Rank"}
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    graph = wrapped.graph
    fetches = [t for op in graph.get_operations() if op.type not in skip for t in op.outputs if t.dtype.is_floating]
    keys = list(fn.structured_input_signature[1])
    placeholders = [graph.get_tensor_by_name(t.name) for t in frozen.inputs if t.dtype != tf.resource]
    if len(placeholders) != len(keys):
        raise StageError(f"{path.name}: the frozen signature has {len(placeholders)} inputs, the signature {len(keys)}")
    # frozen.inputs follow the signature's flattened (sorted) keys
    pruned = wrapped.prune(feeds=placeholders, fetches=fetches)
    values = pruned(*[tf.constant(feeds[key]) for key in sorted(keys)])
    return {t.name: np.asarray(v) for t, v in zip(fetches, values, strict=True) if np.asarray(v).size}


def run(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    try:
        return CAPTURES[bundle.format](bundle, feeds)
    except KeyError:
        raise StageError(f"no layer-by-layer capture for {bundle.format!r} artifacts") from None
