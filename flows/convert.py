"""The `convert` flow: load → surgery → export → emit → quantize → validate → publish."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from prefect import flow

from flows import progress
from flows.config import ConvertRequest
from flows.plan import plan as make_plan
from flows.publish import publish
from flows.report import build
from flows.routes import Steps, make, no_artifact
from flows.runtimes import RuntimeSpec, resolve_auto, select
from flows.source import resolve
from flows.store import open_store
from flows.tasks import StageOutcome


@dataclass
class RunResult:
    report: dict
    location: str          # where the run was published
    stages: list[StageOutcome]


def _run_id(request: ConvertRequest, source_sha: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256((source_sha + request.fingerprint()).encode()).hexdigest()[:8]
    return f"{stamp}-{digest}"


@flow(name="convert", log_prints=False, persist_result=False)
def convert(request: ConvertRequest) -> RunResult:
    source = resolve(request.source, request.epoch)
    plan = make_plan(request, source.bundle_format)
    store = open_store(request.out, request.s3_endpoint_url)
    store.check()  # an unreachable bucket fails before any work, not after it
    spec, why = resolve_auto(RuntimeSpec(request.runtime, request.stage_memory, request.stage_cpus))
    progress.reporter.note(why)
    runtime = select(spec)
    for image in sorted({step.image for step in plan.steps}):   # a fallback route's runtime is made if it runs
        runtime.ensure(image)
    steps = Steps(source.bundle(calibration=request.calibration, samples=request.samples), spec,
                  request.stage_timeout_s)

    # load → surgery: every route starts from them, so a failure here stops the run
    for step in plan.trunk:
        steps.run(step)
    # export → emit → quantize → validate, artifact by artifact, each by its first route that passes
    results = [make(artifact, steps, plan.trunk) for artifact in plan.artifacts]
    if all(made.artifact is None for made in results):   # nothing to report on: the first failure is the error
        raise no_artifact(results)

    model = steps.bundle(plan.trunk[-1]).manifest   # the model every route starts from
    report = build(run_id=_run_id(request, source.info["sha256"]), source=source.info, results=results,
                   stages=steps.outcomes(), model=source.name, trunk=model,
                   surgery=model["metrics"]["edits"] if plan.trunk[-1].stage == "surgery" else None)
    location = publish(store, report, results)
    return RunResult(report=report, location=f"{store.url.rstrip('/')}/{location}", stages=steps.outcomes())
