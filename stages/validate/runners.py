"""Runners: feed the source's samples to a target artifact in its own runtime.

Each target's framework folder has its runner (`stages/<framework>/runner.py`, named by its validate row
in the registry): `run_samples(bundle, feeds)` takes raw source samples (NCHW, unnormalized) and returns
outputs in the source's layout, keyed by the source's output names, so one comparator serves every
target. What they share is here.
"""

from __future__ import annotations

import importlib

import numpy as np

from stages import catalog, feeding
from stages import samples as samples_lib
from stages.bundle import Bundle
from stages.errors import StageError
from stages.validate import latency


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
    return {
        spec["name"]: _quantize(samples_lib.to_target_layout(run[spec["source_name"]], spec), spec)
        for spec in bundle.manifest["inputs"]
    }


def run_samples(
    call, bundle: Bundle, feeds: dict[str, np.ndarray], batched: bool, timed_here: bool = True
) -> dict[str, np.ndarray]:
    """Feed the samples (all at once, or one by one for batch-1 models: stages/feeding.py) and
    collect the outputs, in the source's layout and by the source's names; then time one sample's run,
    unless the runner timed it itself (`timed_here=False`)."""
    spec_in, spec_out = bundle.manifest["inputs"], bundle.manifest["outputs"]

    def by_source_names(run: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = call(target_feeds(bundle, run))
        return {
            spec["source_name"]: samples_lib.to_source_layout(_dequantize(outputs[spec["name"]], spec), spec)
            for spec in spec_out
        }

    outputs = feeding.run_all(by_source_names, feeds, spec_in, batched)
    if timed_here and latency.wanted() and not unmeasured(bundle):  # the artifact is loaded: one sample's run
        one = one_sample(bundle, feeds)  # made once, outside the timed runs
        latency.measure(lambda: call(one))
    return outputs


def one_sample(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The first sample alone (batch 1), as the artifact takes it: what latency is measured on."""
    return target_feeds(bundle, next(feeding.runs(feeds, bundle.manifest["inputs"], batched=False)))


def runner(bundle: Bundle):
    """The runner module of the target's validate row."""
    try:
        return importlib.import_module(catalog.find("validate", bundle.format).runner)
    except (KeyError, ValueError):
        raise StageError(f"no runner for {bundle.format!r} artifacts") from None


def unmeasured(bundle: Bundle) -> str | None:
    """Why the artifact's latency is not measured here, where its runner says so (`LATENCY_SKIPPED`)."""
    return getattr(runner(bundle), "LATENCY_SKIPPED", None)


def validator(bundle: Bundle) -> str | None:
    """What ran the artifact, where its runner says so (`VALIDATOR`): the report names it."""
    return getattr(runner(bundle), "VALIDATOR", None)


def run_target(bundle: Bundle) -> dict[str, np.ndarray]:
    """The target's outputs on the source's samples, preprocessed as its manifest says."""
    run = runner(bundle).run_samples
    raw = samples_lib.load_npz(bundle.file("samples"), "samples")
    return run(bundle, samples_lib.apply_preprocess(raw, bundle.manifest.get("preprocess")))
