"""Flows made to be run through a deployment: parameters a person (or a webhook) can write as JSON."""

from __future__ import annotations

import os
import time
from pathlib import Path

from prefect import flow

from flows import progress
from flows.batch import entry, outcome_of, resolve_remote
from flows.convert import convert
from flows.errors import ConversionError


@flow(name="convert-model", log_prints=False, persist_result=False)
def convert_model(source: str, options: dict | None = None) -> dict:
    """Convert one model. `options` are convert's long options with underscores, as in a batch manifest
    (`{"to": ["tflite"], "input_shape": {"data": [1, 3, 112, 112]}, "out": "s3://bucket/converted"}`);
    relative paths are taken from the worker's working directory. A registry source (models:/name/3)
    gets the results written back to the registry. Returns the outcome (status, the store's location,
    each target's verdict); a conversion that failed fails the flow run."""
    started = time.monotonic()
    one = entry(0, {"source": source, **(options or {})}, Path(os.getcwd()))
    registry, fetched = source.startswith("models:/"), None
    try:
        request, fetched = resolve_remote(one)
        progress.model.set(request.name or "")
        result = convert(request)
    except ConversionError as exc:
        if registry:
            from flows.mlflow_registry import write_back

            write_back(fetched.exact if fetched else source, None, None, {}, error=str(exc))
        raise RuntimeError(str(exc)) from None
    if registry:
        from flows.mlflow_registry import write_back

        assert fetched is not None  # a models:/ source is fetched
        write_back(fetched.exact, result.report, result.location, result.files)
    outcome = outcome_of(one, result.report, result.location, time.monotonic() - started)
    if result.report["status"] != "passed":
        failed = ", ".join(f"{t}: {why}" for t, why in outcome.targets.items() if why != "passed")
        raise RuntimeError(f"{result.report['model']}: {failed} (published: {result.location})")
    return outcome.__dict__
