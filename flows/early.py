"""A conversion's first stage begun before Prefect is imported.

Importing Prefect and starting a flow run take the CLI over a second of one core. When the run's first stage
(its load) is not cached, it will run whatever the flow does next: it begins here, in a thread of its own,
with its runtime's warm worker and those of the run's other runtimes (flows/runtimes/warm/) started at once,
so that the stage, the workers' imports and Prefect's import go on side by side. The flow's task for that
stage then takes its outcome (flows/stage_run.py): its Prefect task run, its line in the report and its
failure, if it fails, are those of any stage. A re-run whose first stage is cached begins nothing.

Nothing here decides anything: the checks the flow makes before any work (the store answers, the name is
this model's) are made first, and whatever fails is left for the flow, which says it in the user's words. A
stage still running when the command ends (the flow failed before it got there) is stopped.
"""

from __future__ import annotations

import atexit
from concurrent.futures import Future, wait

from flows import progress
from flows.config import ConvertRequest

_noted: list[str] = []  # the runtime line, said here, not again by the flow


def begin_first_stage(request: ConvertRequest) -> None:
    from flows.cache import BundleCache
    from flows.plan import plan as make_plan
    from flows.runtimes import RuntimeSpec, resolve_auto, select
    from flows.source import resolve
    from flows.stage_run import begin, key_of
    from flows.store import check_name, open_store

    try:
        source = resolve(request.source, dict(request.options))
        store = open_store(request.out, request.s3_endpoint_url)
        store.check()  # what fails before any work in the flow fails before this stage begins
        check_name(store, request.name or source.name, request.origin or str(request.source.resolve()))
        plan = make_plan(request, source.bundle_format)
        spec, why = resolve_auto(RuntimeSpec(request.runtime, request.stage_memory, request.stage_cpus, request.jobs))
        runtime = select(spec)
        first = plan.trunk[0]
        bundle = source.bundle(calibration=request.calibration, samples=request.samples)
        if BundleCache().get(key_of(first.stage, first.impl, first.config, [bundle], spec)) is not None:
            return
    except Exception:  # noqa: BLE001  the flow meets the same cause, and reports it
        return
    for each in sorted({step.image for step in plan.steps}):
        runtime.prepare(each)
    runtime.warm_up()
    progress.reporter.note(why)
    _noted.append(why)
    begun = begin(first.stage, first.impl, first.config, [bundle], spec, request.stage_timeout_s, first.label)
    atexit.register(_abandon, begun)  # before the workers' stop (exit handlers run last first)


def _abandon(begun: Future) -> None:
    """The command ends with the stage still running (the flow failed before it got there): it is stopped,
    without a line of its own after the command's last, and leaves nothing half-made in the cache."""
    from flows.runtimes import reaper

    if begun.done():
        return
    progress.use(progress.Silent())
    reaper.stop_all()
    wait([begun], timeout=reaper.GRACE_S)


def noted(why: str) -> bool:
    """Whether the runtime line `why` was said here already (then the flow does not say it again)."""
    return why in _noted
