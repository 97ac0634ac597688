"""The ncnn artifact run with the ncnn binding (fp16 storage and arithmetic only for the fp16 artifact)."""

from __future__ import annotations

import numpy as np

from stages.bundle import Bundle
from stages.validate.runners import run_samples as feed


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.ncnn.model import NcnnModel

    fp16 = bundle.manifest.get("precision") == "fp16"
    model = NcnnModel(
        bundle.file("model"),
        bundle.manifest["inputs"],
        bundle.manifest["outputs"],
        fp16,
        bundle.manifest.get("writer", "pnnx"),
    )
    return feed(model, bundle, feeds, batched=False)  # ncnn runs batch 1
