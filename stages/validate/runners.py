"""Runners: feed the source's samples to a target artifact in its own runtime.

A runner takes raw source samples (NCHW, unnormalized) and returns outputs in
the source's layout, keyed by the source's output names, so one comparator
serves every target.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from stages import feeding, samples as samples_lib
from stages.bundle import Bundle
from stages.errors import StageError

RUNNERS: dict[str, Callable[[Bundle, dict], dict]] = {}


def runner(fmt: str):
    def register(fn):
        RUNNERS[fmt] = fn
        return fn
    return register


def _quantize(x: np.ndarray, spec: dict) -> np.ndarray:
    q = spec.get("quantization")
    if not q:
        return x.astype(spec["dtype"])
    info = np.iinfo(spec["dtype"])
    return np.clip(np.round(x / q["scale"] + q["zero_point"]), info.min, info.max).astype(spec["dtype"])


def _dequantize(y: np.ndarray, spec: dict) -> np.ndarray:
    q = spec.get("quantization")
    if not q:
        return y.astype(np.float32)
    return ((y.astype(np.float32) - q["zero_point"]) * q["scale"]).astype(np.float32)


def target_feeds(bundle: Bundle, run: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One run of the samples (source names, source layout) as the artifact takes it: its names,
    layouts and quantization."""
    return {spec["name"]: _quantize(samples_lib.to_target_layout(run[spec["source_name"]], spec), spec)
            for spec in bundle.manifest["inputs"]}


def _run_samples(call, bundle: Bundle, feeds: dict[str, np.ndarray], batched: bool) -> dict[str, np.ndarray]:
    """Feed the samples (all at once, or one by one for batch-1 models: stages/feeding.py) and
    collect the outputs, in the source's layout and by the source's names."""
    spec_in, spec_out = bundle.manifest["inputs"], bundle.manifest["outputs"]

    def by_source_names(run: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = call(target_feeds(bundle, run))
        return {spec["source_name"]: samples_lib.to_source_layout(_dequantize(outputs[spec["name"]], spec), spec)
                for spec in spec_out}
    return feeding.run_all(by_source_names, feeds, spec_in, batched)


@runner("onnx")
def run_onnx(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    path = bundle.file("model")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for bad models
        raise StageError(f"{path.name} does not load in ONNX Runtime: {str(exc).splitlines()[0]}") from None
    names = [spec["name"] for spec in bundle.manifest["outputs"]]
    batched = all(value.shape and not isinstance(value.shape[0], int) for value in session.get_inputs())
    return _run_samples(lambda inputs: dict(zip(names, session.run(names, inputs))), bundle, feeds, batched)


@runner("tflite")
def run_tflite(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.tflite.signature import TFLiteModel

    # TFLite files are batch 1, as phones run them.
    return _run_samples(TFLiteModel(bundle.file("model")), bundle, feeds, batched=False)


@runner("savedmodel")
def run_savedmodel(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import tensorflow as tf

    from stages.savedmodel.model import signature

    path = bundle.file("model")
    _, fn = signature(path, path.name, bundle.manifest.get("signature", "serving_default"))

    def call(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: value.numpy() for name, value in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}

    batched = all(spec.shape.rank and spec.shape[0] is None for spec in fn.structured_input_signature[1].values())
    return _run_samples(call, bundle, feeds, batched)


@runner("tfjs")
def run_tfjs(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.tfjs.node import NodeGraphModel

    # One Node.js process for every run (all samples in one run where the batch is dynamic): the runs
    # are made first and run together; the outputs are then handed back in the same order.
    model = NodeGraphModel(bundle.file("model"))
    runs = feeding.runs(feeds, bundle.manifest["inputs"], model.dynamic_batch)
    outputs = iter(model.run_many([target_feeds(bundle, run) for run in runs]))
    return _run_samples(lambda _: next(outputs), bundle, feeds, batched=model.dynamic_batch)


@runner("openvino")
def run_openvino(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.openvino.model import IRModel

    model = IRModel(bundle.file("model"))
    return _run_samples(model, bundle, feeds, model.batched)


def run_target(bundle: Bundle) -> dict[str, np.ndarray]:
    """The target's outputs on the source's samples, preprocessed as its manifest says."""
    try:
        run = RUNNERS[bundle.format]
    except KeyError:
        raise StageError(f"no runner for {bundle.format!r} artifacts") from None
    raw = samples_lib.load_npz(bundle.file("samples"), "samples")
    return run(bundle, samples_lib.apply_preprocess(raw, bundle.manifest.get("preprocess")))
