"""bench/pairs: one `convert` of a source to every target, in-process, timed stage by stage.

The flow stops at the first stage that fails; the targets whose route does not
go through that stage are then converted again in the same cache (their finished
stages are reused, and keep the seconds of their first, cold run).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from flows import progress
from flows.cache import BundleCache, stage_key
from flows.config import ConvertRequest
from flows.convert import convert
from flows.plan import Step, plan, steps_by_id
from flows.runtimes import RuntimeSpec, resolve_auto, select
from flows.source import resolve
from stages import catalog


class Recorder:
    """A progress reporter that keeps each stage's cold seconds and failures, and narrates to stderr."""

    def __init__(self, tag: str):
        self.tag = tag
        self.seconds: dict[str, float] = {}
        self.failures: dict[str, str] = {}

    def started(self, name: str, image: str, runtime: str) -> None:
        print(f"[{self.tag}] {name} [{image}, {runtime}] …", file=sys.stderr, flush=True)

    def finished(self, name: str, seconds: float, cached: bool) -> None:
        if not cached:
            self.seconds.setdefault(name, seconds)
            print(f"[{self.tag}] {name} {seconds:.1f} s", file=sys.stderr, flush=True)

    def failed(self, name: str, reason: str) -> None:
        self.failures[name] = reason
        print(f"[{self.tag}] {name} FAILED: {reason}", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        pass


@dataclass
class SourceRun:
    source: str
    steps: dict[str, Step]                 # the plan for every target, by step id
    seconds: dict[str, float]              # cold wall time of each stage process, by step name
    bundles: dict[str, Path | None]        # each step's bundle in the cache (None: not made)
    parity: dict[str, dict] = field(default_factory=dict)    # target -> the fp32 artifact's parity
    errors: dict[str, str] = field(default_factory=dict)     # target -> why it has no artifact
    wall: float = 0.0                      # the convert runs' wall time, retries included


def route(steps: dict[str, Step], target: str) -> list[Step]:
    """The steps a target's fp32 artifact needs, source first, then its validation."""
    made = next(step for step in steps.values() if step.artifact == (target, "fp32"))
    chain = [made]
    while chain[-1].inputs:
        chain.append(steps[chain[-1].inputs[0]])
    return [*reversed(chain), steps[f"validate:{target}/fp32"]]


def _bundles(request: ConvertRequest, steps: dict[str, Step]) -> dict[str, Path | None]:
    """Where each step's bundle is in the cache: the same keys the flow computed."""
    spec, _ = resolve_auto(RuntimeSpec(request.runtime))
    engine, cache = select(spec), BundleCache()
    source = resolve(request.source, request.epoch).bundle(calibration=request.calibration, samples=request.samples)
    found: dict[str, Path | None] = {}
    for step in steps.values():
        inputs = [found.get(i) for i in step.inputs] or [source]
        if any(path is None for path in inputs):
            found[step.id] = None
            continue
        key = stage_key(step.stage, step.impl, step.config, inputs, engine.identity(step.image))
        found[step.id] = cache.get(key)
    return found


def run_source(source: str, path: Path, input_shapes: dict[str, list[int]], targets: list[str],
               runtime: str, out: Path) -> SourceRun:
    recorder = Recorder(source)
    progress.use(recorder)
    request = ConvertRequest(source=path, input_shapes=input_shapes, targets=targets, out=str(out), runtime=runtime)
    fmt = resolve(path, None).bundle_format
    steps = steps_by_id(plan(request, fmt))
    run = SourceRun(source, steps, recorder.seconds, {})
    remaining, seen = list(targets), set()
    started = time.monotonic()
    while remaining:
        request = request.model_copy(update={"targets": remaining})
        try:
            result = convert(request)
        except Exception as exc:  # a stage failed: keep what finished, retry the targets that do not need it
            failed = {name: why for name, why in recorder.failures.items() if name not in seen}
            seen.update(failed)
            for target in remaining:
                hit = [step.name for step in route(steps, target) if step.name in failed]
                if hit or not failed:   # no stage failed: the run itself did, for every target
                    run.errors[target] = f"{hit[0]}: {failed[hit[0]]}" if hit else str(exc)
            remaining = [t for t in remaining if t not in run.errors]
            continue
        for artifact in result.report["artifacts"]:
            if artifact["precision"] == "fp32":
                run.parity[artifact["target"]] = artifact["parity"]
        break
    run.wall = time.monotonic() - started
    run.bundles = _bundles(request, steps)
    return run


def route_formats(source: str, steps: list[Step]) -> list[str]:
    """`torchscript → onnx → savedmodel → tfjs`: the source, then what each converter makes."""
    return [source, *(catalog.get(s.stage, s.impl).produces for s in steps if s.stage in ("export", "emit"))]
