"""A conversion's first stages begun before Prefect is imported.

Importing Prefect and starting a flow run take the CLI seconds of one core. When the run's first stage
(its load) is not cached, it will run whatever the flow does next: it begins here, in a thread of its own,
with its runtime's warm worker and those of the run's other runtimes (flows/runtimes/warm/) started at once,
so that the stage, the workers' imports and Prefect's import go on side by side. The stages the flow will
surely run after it begin as soon as what they read is made (`ahead`): the rest of the trunk, the reference
stage, and the preferred route's first converter where every artifact starts with the same one. The flow's
task for each then takes its outcome (flows/stage_run.py): its Prefect task run, its line in the report and
its failure, if it fails, are those of any stage. A re-run whose first stage is cached begins nothing.

Nothing here decides anything: the checks the flow makes before any work (the store answers, the name is
this model's) are made first, and whatever fails is left for the flow, which says it in the user's words. A
stage still running when the command ends (the flow failed before it got there) is stopped.
"""

from __future__ import annotations

import atexit
import threading
from concurrent.futures import Future, wait

from flows import progress
from flows.config import ConvertRequest
from flows.plan import CONVERTERS, Plan, Step

_noted: list[str] = []  # the runtime line, said here, not again by the flow


def begin_first_stage(request: ConvertRequest) -> None:
    from flows.cache import BundleCache
    from flows.plan import plan as make_plan
    from flows.runtimes import RuntimeSpec, resolve_auto, select
    from flows.source import resolve
    from flows.stage_run import key_of
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
    atexit.register(_abandon)  # before the workers' stop (exit handlers run last first)
    begun = _begin(first, [bundle], spec, request.stage_timeout_s)
    if begun is not None:
        following = threading.Thread(
            target=_begin_following,
            args=(plan, begun, spec, request.stage_timeout_s),
            name="begin the stages that follow",
            daemon=True,
        )
        following.start()


def ahead(plan: Plan) -> list[Step]:
    """The steps after the first that the flow will surely run, in an order that runs: the rest of the
    trunk, the reference stage, and the first converter of the artifacts' preferred routes where they all
    start with the same one (several would contend for the cores the CPU budget shares among branches: the
    flow starts those)."""
    trunk = {step.id for step in plan.trunk}
    firsts = {  # a source that is its own artifact (ONNX to ONNX) has no step of its own before its validation
        route.steps[0].id: route.steps[0]
        for artifact in plan.artifacts
        for route in artifact.routes[:1]
        if route.steps[0].id not in trunk
    }
    converters = [step for step in firsts.values() if step.stage in CONVERTERS and step.inputs == (plan.trunk[-1].id,)]
    return [*plan.trunk[1:], *([plan.reference] if plan.reference else []), *(converters if len(firsts) == 1 else [])]


_begun: list[Future] = []  # what was begun here, stopped at the command's end if still running
_ending = False  # the command is ending: nothing more begins
_lock = threading.Lock()


def _begin(step: Step, inputs: list, spec, timeout_s: float) -> Future | None:
    from flows.stage_run import begin

    with _lock:
        if _ending:
            return None
        _begun.append(begin(step.stage, step.impl, step.config, inputs, spec, timeout_s, step.label))
        return _begun[-1]


def _begin_following(plan: Plan, first: Future, spec, timeout_s: float) -> None:
    """Begin each step of `ahead` once the steps it reads are made; a failure begins nothing that reads it
    (the flow meets it, and says it)."""
    from flows.stage_run import know_ahead

    following = ahead(plan)
    for step in following:  # while the first stage runs
        know_ahead(step.stage, step.impl, spec)
    made = {plan.trunk[0].id: first}
    for step in following:
        try:
            inputs = [made[i].result().bundle for i in step.inputs]
        except Exception:  # noqa: BLE001  a stage before it failed: the flow reports that
            return
        begun = _begin(step, inputs, spec, timeout_s)
        if begun is None:
            return
        made[step.id] = begun


def _abandon() -> None:
    """The command ends with a stage begun here still running (the flow failed before it got there): it is
    stopped, without a line of its own after the command's last, and leaves nothing half-made in the cache;
    nothing begins after."""
    global _ending
    from flows.runtimes import reaper

    with _lock:
        _ending = True
        running = [future for future in _begun if not future.done()]
    if not running:
        return
    progress.use(progress.Silent())
    reaper.stop_all()
    wait(running, timeout=reaper.GRACE_S)


def noted(why: str) -> bool:
    """Whether the runtime line `why` was said here already (then the flow does not say it again)."""
    return why in _noted
