"""The Caffe artifact run in pycaffe (CPU, TEST phase), one sample at a time as it was shaped."""

from __future__ import annotations

import numpy as np

from stages.bundle import Bundle
from stages.validate.runners import run_samples as feed


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.caffe.model import CaffeModel

    folder = bundle.file("model")
    model = CaffeModel(
        folder / "model.prototxt", folder / "model.caffemodel", [spec["name"] for spec in bundle.manifest["outputs"]]
    )
    return feed(model, bundle, feeds, batched=False)
