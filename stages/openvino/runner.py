"""The OpenVINO IR run on CPU with f32 inference precision, for validation."""

from __future__ import annotations

import numpy as np

from stages.bundle import Bundle
from stages.validate.runners import run_samples as feed


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.openvino.model import IRModel

    model = IRModel(bundle.file("model"))
    return feed(model, bundle, feeds, model.batched)
