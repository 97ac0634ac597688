"""The TFLite artifact run in LiteRT, for validation."""

from __future__ import annotations

import numpy as np

from stages.bundle import Bundle
from stages.validate.runners import run_samples as feed


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.tflite.signature import TFLiteModel

    # TFLite files are batch 1, as phones run them.
    return feed(TFLiteModel(bundle.file("model")), bundle, feeds, batched=False)
