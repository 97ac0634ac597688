"""Runners: feed the source's samples to a target artifact in its own runtime.

A runner takes raw source samples (NCHW, unnormalized) and returns outputs in
the source's layout, keyed by the source's output names, so one comparator
serves every target.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from stages import samples as samples_lib
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


@runner("onnx")
def run_onnx(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    path = bundle.file("model")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for bad models
        raise StageError(f"{path.name} does not load in ONNX Runtime: {str(exc).splitlines()[0]}") from None
    spec_in, spec_out = bundle.manifest["inputs"], bundle.manifest["outputs"]
    batch_ok = all(isinstance(value.shape[0], str) or value.shape[0] is None for value in session.get_inputs())
    count = len(next(iter(feeds.values())))
    chunks = [slice(0, count)] if batch_ok else [slice(i, i + 1) for i in range(count)]
    results: dict[str, list] = {spec["source_name"]: [] for spec in spec_out}
    for chunk in chunks:
        outputs = session.run([spec["name"] for spec in spec_out],
                              {spec["name"]: samples_lib.to_target_layout(feeds[spec["source_name"]][chunk], spec)
                               for spec in spec_in})
        for spec, value in zip(spec_out, outputs):
            results[spec["source_name"]].append(samples_lib.to_source_layout(value, spec))
    return {name: np.concatenate(parts) for name, parts in results.items()}


@runner("tflite")
def run_tflite(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.tflite.signature import TFLiteModel

    run = TFLiteModel(bundle.file("model"))
    spec_in, spec_out = bundle.manifest["inputs"], bundle.manifest["outputs"]
    count = len(next(iter(feeds.values())))
    results: dict[str, list] = {spec["source_name"]: [] for spec in spec_out}
    for i in range(count):  # TFLite files are batch 1, as phones run them
        outputs = run({spec["name"]: _quantize(samples_lib.to_target_layout(feeds[spec["source_name"]][i:i + 1], spec), spec)
                         for spec in spec_in})
        for spec in spec_out:
            results[spec["source_name"]].append(samples_lib.to_source_layout(_dequantize(outputs[spec["name"]], spec), spec))
    return {name: np.concatenate(parts) for name, parts in results.items()}


def run_target(bundle: Bundle) -> dict[str, np.ndarray]:
    """The target's outputs on the source's samples, preprocessed as its manifest says."""
    try:
        run = RUNNERS[bundle.format]
    except KeyError:
        raise StageError(f"no runner for {bundle.format!r} artifacts") from None
    raw = samples_lib.load_npz(bundle.file("samples"), "samples")
    return run(bundle, samples_lib.apply_preprocess(raw, bundle.manifest.get("preprocess")))
