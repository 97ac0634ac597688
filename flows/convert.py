"""The `convert` flow: load → surgery → export → emit → quantize → validate → publish."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from prefect import flow

from flows import progress
from flows.config import ConvertRequest
from flows.plan import plan, steps_by_id
from flows.publish import publish
from flows.report import TargetResult, build
from flows.runtimes import RuntimeSpec, resolve_auto, select
from flows.source import resolve
from flows.store import open_store
from flows.tasks import StageOutcome, run_stage
from stages.bundle import Bundle


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
    steps = plan(request, source.bundle_format)
    store = open_store(request.out, request.s3_endpoint_url)
    store.check()  # an unreachable bucket fails before any work, not after it
    spec, why = resolve_auto(RuntimeSpec(request.runtime, request.stage_memory, request.stage_cpus))
    progress.reporter.note(why)
    runtime = select(spec)
    for image in sorted({step.image for step in steps}):
        runtime.ensure(image)
    source_bundle = source.bundle(calibration=request.calibration, samples=request.samples)

    # load → surgery → export → emit → quantize → validate, as planned from the registry
    done: dict[str, StageOutcome] = {}
    for step in steps:
        inputs = [done[i].bundle for i in step.inputs] or [source_bundle]
        done[step.id] = run_stage(step.stage, step.impl, step.config, inputs, spec,
                                  request.stage_timeout_s, step.label)

    results = []
    for step in steps:
        if step.stage == "validate":
            made = steps_by_id(steps)[step.inputs[0]]
            results.append(TargetResult(*made.artifact, Bundle.read(done[made.id].bundle),
                                        Bundle.read(done[step.id].bundle).manifest["metrics"]["parity"]))
    edits = Bundle.read(done["surgery"].bundle).manifest["metrics"]["edits"] if "surgery" in done else None
    stages = list(done.values())

    report = build(run_id=_run_id(request, source.info["sha256"]), source=source.info, results=results,
                   stages=stages, model=source.name, surgery=edits)
    location = publish(store, report, results)
    return RunResult(report=report, location=f"{store.url.rstrip('/')}/{location}", stages=stages)
