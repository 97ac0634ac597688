"""Flows made to be run through a deployment: parameters a person (or a webhook) can write as JSON."""
from __future__ import annotations

import os
import time
from pathlib import Path

from prefect import flow

from flows import progress
from flows.batch import convert_command, entry, outcome_of, resolve_remote
from flows.convert import convert
from flows.errors import ConversionError


@flow(name="convert-model", log_prints=False, persist_result=False)
def convert_model(source: str, options: dict | None = None) -> dict:
    """Convert one model. `options` are convert's long options with underscores, as in a batch manifest
    (`{"to": ["tflite"], "input_shape": {"data": [1, 3, 112, 112]}, "out": "s3://bucket/converted"}`);
    relative paths are taken from the worker's working directory. Returns the outcome (status, the store's
    location, each target's verdict); a failed conversion fails the flow run."""
    started = time.monotonic()
    one = entry(0, {"source": source, **(options or {})}, Path(os.getcwd()), convert_command())
    request = resolve_remote(one)
    progress.model.set(request.name or "")
    try:
        result = convert(request)
    except ConversionError as exc:
        raise RuntimeError(str(exc)) from None
    outcome = outcome_of(one, result.report, result.location, time.monotonic() - started)
    if result.report["status"] != "passed":
        failed = ", ".join(f"{t}: {why}" for t, why in outcome.targets.items() if why != "passed")
        raise RuntimeError(f"{result.report['model']}: {failed} (published: {result.location})")
    return outcome.__dict__
