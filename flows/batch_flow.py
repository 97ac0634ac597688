"""The `batch` flow: each manifest entry a `convert` subflow, at most `parallel` at once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import allow_failure, flow, task
from prefect.cache_policies import NO_CACHE

from flows import progress
from flows.batch import (
    Entry,
    Outcome,
    batch_report,
    load,
    outcome_of,
    publish_batch,
    resolve_remote,
    table_rows,
)
from flows.convert import convert
from flows.errors import ConversionError
from flows.prefect_artifacts import record_batch
from flows.source import resolve

if TYPE_CHECKING:
    from prefect.futures import PrefectFuture


@task(name="conversion", task_run_name="{entry.source}", cache_policy=NO_CACHE)
def convert_entry(entry: Entry) -> Outcome:
    """One model: fetched where it is remote, converted, published. Its failure is its outcome, not the batch's."""
    started = time.monotonic()
    progress.model.set(entry.label)
    try:
        request, _ = resolve_remote(entry)
        progress.model.set(request.name or resolve(request.source, dict(request.options)).name)
        result = convert(request)
    except ConversionError as exc:
        progress.reporter.note(f"{entry.label}: {exc}")
        return outcome_of(entry, None, None, time.monotonic() - started, error=str(exc))
    return outcome_of(entry, result.report, result.location, time.monotonic() - started)


@flow(name="batch", log_prints=False, persist_result=False)
def batch(manifest: str, parallel: int = 1) -> dict:
    """Convert every model of `manifest` (a YAML file), up to `parallel` at once; publish the batch report."""
    started = time.monotonic()
    out, entries = load(Path(manifest))
    lanes = max(1, parallel)
    runs: list[PrefectFuture] = []
    for entry in entries:  # entry i starts when entry i - parallel has ended, whatever became of it
        before = [allow_failure(runs[-lanes])] if len(runs) >= lanes else []
        runs.append(convert_entry.submit(entry, wait_for=before))  # type: ignore[call-overload]  # Prefect's overloads take no allow_failure
    outcomes = [run.result() for run in runs]
    report = batch_report(Path(manifest), out, outcomes, time.monotonic() - started, lanes)
    report["location"] = publish_batch(report, entries[0].request.s3_endpoint_url)
    record_batch(report, table_rows(report))
    return report
