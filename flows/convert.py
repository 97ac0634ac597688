"""The `convert` flow: load → surgery → export → emit → quantize → validate → publish."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, wait

from flows import early, progress
from flows.budget import BUDGET
from flows.config import ConvertRequest
from flows.errors import ConversionError, RuntimeUnavailable
from flows.plan import Artifact, Step
from flows.plan import plan as make_plan
from flows.prefect_artifacts import record_conversion
from flows.publish import publish, published_files
from flows.report import build
from flows.routes import Made, Steps, make, no_artifact
from flows.runtimes import RuntimeSpec, reaper, resolve_auto, select
from flows.source import resolve
from flows.stage_run import StageOutcome
from flows.store import check_name, open_store


@dataclass
class RunResult:
    report: dict
    location: str  # where the run was published
    stages: list[StageOutcome]
    files: dict[str, Path] = field(default_factory=dict)  # each published artifact's name -> its local file


def _run_id(request: ConvertRequest, source_sha: str) -> str:
    """Sortable by time; the digest tells runs of one request apart from others at a glance, and the
    random tail keeps two identical runs started in the same second apart."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256((source_sha + request.fingerprint()).encode()).hexdigest()[:8]
    return f"{stamp}-{digest}-{secrets.token_hex(3)}"


@task(name="artifact", task_run_name="{artifact.target}/{artifact.precision}", cache_policy=NO_CACHE)
def make_artifact(artifact: Artifact, steps: Steps, trunk: list[Step]) -> Made:
    """One artifact's branch of the DAG (its stages are tasks of their own, shared between branches); while
    it runs it is one of the branches the CPU budget shares the cores among."""
    with BUDGET.demand(1):
        return make(artifact, steps, trunk)


@task(name="beside", task_run_name="{step.stage}/{step.impl}", cache_policy=NO_CACHE)
def make_beside(step: Step, steps: Steps) -> None:
    """A step every branch reads besides its route (the source's golden outputs), run beside the branches'
    converters; an idle stage (stages/impl.py), it takes only the CPU they leave."""
    steps.run(step)


@flow(name="convert", log_prints=False, persist_result=False)
def convert(request: ConvertRequest) -> RunResult:
    source = resolve(request.source, dict(request.options))
    plan = make_plan(request, source.bundle_format)
    store = open_store(request.out, request.s3_endpoint_url)
    store.check()  # an unreachable bucket fails before any work, not after it
    name, origin = request.name or source.name, request.origin or str(request.source.resolve())
    check_name(store, name, origin)  # and so does a name another model publishes under
    spec, why = resolve_auto(RuntimeSpec(request.runtime, request.stage_memory, request.stage_cpus, request.jobs))
    if not early.noted(why):
        progress.reporter.note(why)
    runtime = select(spec)
    for image in sorted({step.image for step in plan.steps}):  # a fallback route's runtime is made if it runs
        try:
            runtime.ensure(image)
            runtime.prepare(image)
        except RuntimeUnavailable:  # a container-only runtime without Docker: its stages fail, saying why;
            pass  # the other targets go on
    steps = Steps(
        source.bundle(calibration=request.calibration, samples=request.samples),
        spec,
        request.stage_timeout_s,
        plan.every_step,
    )
    run_id = _run_id(request, source.info["sha256"])
    results: list[Made] = []
    try:
        results = _make_all(plan, steps)
        if all(made.artifact is None for made in results):  # nothing to report on: the first failure is the error
            raise no_artifact(results)
    except ConversionError as exc:  # the run started: its report says how far it got, and nothing else is published
        report = build(
            run_id=run_id,
            source=source.info,
            results=results,
            stages=steps.outcomes(),
            failures=steps.failures,
            model=name,
            trunk=_trunk(steps, plan),
            surgery=None,
            error=str(exc),
            trusted=request.options.trust_custom_code,
        )
        exc.report_location = f"{store.url.rstrip('/')}/{publish(store, report, [], origin, claim=False)}"
        raise

    model = steps.bundle(plan.trunk[-1]).manifest  # the model every route starts from
    report = build(
        run_id=run_id,
        source=source.info,
        results=results,
        stages=steps.outcomes(),
        failures=steps.failures,
        model=name,
        trunk=model,
        surgery=model["metrics"]["edits"] if plan.trunk[-1].stage == "surgery" else None,
        trusted=request.options.trust_custom_code,
    )
    location = f"{store.url.rstrip('/')}/{publish(store, report, results, origin)}"
    record_conversion(report, location)
    return RunResult(report=report, location=location, stages=steps.outcomes(), files=published_files(report, results))


# A signal the kernel gives to another of the process's threads is handled only once the main thread runs
# Python again: a wait without end would hold a SIGTERM until every branch is done.
SIGNAL_CHECK_S = 0.2


def _make_all(plan, steps: Steps) -> list[Made]:
    """load → surgery: every route starts from them, so a failure there stops the run. Then export → emit →
    quantize → validate: one branch per artifact, each by its first route that passes, side by side as far
    as the CPU budget lets them (which shares the cores among the branches running); a branch that fails
    stops no other. The source's golden outputs, where a stage of their own makes them (plan.reference), are
    made beside the branches' converters; their failure, like the trunk's, is the run's."""
    with BUDGET.demand(1):
        for step in plan.trunk:
            steps.run(step)
    beside: list[PrefectFuture[None]] = []
    if plan.reference:
        beside.append(make_beside.submit(plan.reference, steps))
    branches = [make_artifact.submit(artifact, steps, plan.trunk) for artifact in plan.artifacts]
    every: list[PrefectFuture[Any]] = [*beside, *branches]
    try:
        while wait(every, timeout=SIGNAL_CHECK_S).not_done:
            pass  # back to Python between waits, where a signal's handler runs
    except BaseException:  # Ctrl-C; SIGTERM, which Prefect raises here as its TerminationSignal during a flow
        reaper.stop_all()  # run: the branches' stages end now, not after the task runner waited for them
        raise
    for future in beside:
        future.result()
    return [branch.result() for branch in branches]


def _trunk(steps: Steps, plan) -> Mapping[str, Any]:
    """The manifest of the furthest trunk stage that finished (empty when the first one failed)."""
    done = [step for step in plan.trunk if step.id in steps.done]
    return steps.bundle(done[-1]).manifest if done else {}
