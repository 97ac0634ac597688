"""The ONNX artifact run in ONNX Runtime (CPU), for validation."""

from __future__ import annotations

import numpy as np

from stages.bundle import Bundle
from stages.errors import StageError
from stages.validate.runners import run_samples as feed


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    path = bundle.file("model")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for bad models
        raise StageError(f"{path.name} does not load in ONNX Runtime: {str(exc).splitlines()[0]}") from None
    names = [spec["name"] for spec in bundle.manifest["outputs"]]
    batched = all(value.shape and not isinstance(value.shape[0], int) for value in session.get_inputs())
    return feed(lambda inputs: dict(zip(names, session.run(names, inputs), strict=True)), bundle, feeds, batched)
