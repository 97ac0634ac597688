"""The TFJS graph model run in Node.js (@tensorflow/tfjs on its wasm backend, the pure-JS CPU one where the
wasm one lacks a kernel), for validation; its latency is timed in Node.js too."""

from __future__ import annotations

import numpy as np

from stages import feeding
from stages.bundle import Bundle
from stages.validate import latency
from stages.validate.runners import one_sample, target_feeds
from stages.validate.runners import run_samples as feed


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.tfjs.node import NodeGraphModel

    # One Node.js process for every run (all samples in one run where the batch is dynamic): the runs
    # are made first and run together; the outputs are then handed back in the same order. The same
    # process times one sample's run on the loaded model, and says its own peak memory.
    model = NodeGraphModel(bundle.file("model"))
    runs = feeding.runs(feeds, bundle.manifest["inputs"], model.dynamic_batch)
    profile = latency.asked()
    outputs = iter(
        model.run_many(
            [target_feeds(bundle, run) for run in runs],
            profile=profile and {**profile, "run": one_sample(bundle, feeds)},
        )
    )
    if model.profiled:
        latency.record(model.profiled["times_ms"], model.profiled["threads"], model.peak_rss_mb)
    return feed(lambda _: next(outputs), bundle, feeds, batched=model.dynamic_batch, timed_here=False)
