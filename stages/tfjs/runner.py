"""The TFJS graph model run in Node.js (@tensorflow/tfjs on its wasm backend, the pure-JS CPU one where the
wasm one lacks a kernel), for validation."""
from __future__ import annotations

import numpy as np

from stages import feeding
from stages.bundle import Bundle
from stages.validate.runners import run_samples as feed, target_feeds

# Node.js runs the samples in one call, the model inside it: a run's time on the Python side is not the model's.
LATENCY_SKIPPED = "the model runs in Node.js, all samples in one call: its per-run time is not measured here"


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.tfjs.node import NodeGraphModel

    # One Node.js process for every run (all samples in one run where the batch is dynamic): the runs
    # are made first and run together; the outputs are then handed back in the same order.
    model = NodeGraphModel(bundle.file("model"))
    runs = feeding.runs(feeds, bundle.manifest["inputs"], model.dynamic_batch)
    outputs = iter(model.run_many([target_feeds(bundle, run) for run in runs]))
    return feed(lambda _: next(outputs), bundle, feeds, batched=model.dynamic_batch)
