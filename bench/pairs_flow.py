"""bench/pairs: one `convert` of a source to every target, in-process, timed stage by stage.

Each target's artifact is made by the first of its routes that passes (flows/routes.py); the row
shows that route, its stages' cold seconds and the bare converters of its hops.
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
from flows.errors import ConversionError
from flows.plan import Plan, Route, Step, plan
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
    plan: Plan  # every target's routes
    seconds: dict[str, float]  # cold wall time of each stage process, by step name
    bundles: dict[str, Path | None]  # each step's bundle in the cache (None: not made)
    routes: dict[str, Route] = field(default_factory=dict)  # target -> the route that made its fp32 artifact
    parity: dict[str, dict] = field(default_factory=dict)  # target -> the fp32 artifact's parity
    errors: dict[str, str] = field(default_factory=dict)  # target -> why it has no artifact
    wall: float = 0.0  # the convert run's wall time


def steps_of(run: SourceRun, target: str) -> list[Step]:
    """The steps of the route that made a target's fp32 artifact (the preferred one where none did):
    the trunk, the converters, then its validation."""
    artifact = next(a for a in run.plan.artifacts if a.target == target and a.precision == "fp32")
    route = run.routes.get(target, artifact.routes[0])
    chain = {step.id: step for step in (*run.plan.trunk, *route.steps)}
    return [*chain.values(), route.validate]


def _bundles(request: ConvertRequest, steps: list[Step]) -> dict[str, Path | None]:
    """Where each step's bundle is in the cache: the same keys the flow computed."""
    spec, _ = resolve_auto(RuntimeSpec(request.runtime))
    engine, cache = select(spec), BundleCache()
    source = resolve(request.source, dict(request.options)).bundle(
        calibration=request.calibration, samples=request.samples
    )
    found: dict[str, Path | None] = {}
    for step in steps:
        inputs = [found.get(i) for i in step.inputs] or [source]
        if any(path is None for path in inputs):
            found[step.id] = None
            continue
        key = stage_key(step.stage, step.impl, step.config, inputs, engine.identity(step.image))
        found[step.id] = cache.get(key)
    return found


def run_source(
    source: str, path: Path, input_shapes: dict[str, list[int]], targets: list[str], runtime: str, out: Path
) -> SourceRun:
    recorder = Recorder(source)
    progress.use(recorder)
    # One name per source format; no latency runs in validation (no bare converter makes them).
    request = ConvertRequest(
        source=path,
        name=f"{resolve(path).name}-{source}",
        input_shapes=input_shapes,
        targets=targets,
        out=str(out),
        runtime=runtime,
        profile_runs=0,
    )
    made = plan(request, resolve(path).bundle_format)
    run = SourceRun(source, made, recorder.seconds, {})
    started = time.monotonic()
    try:
        report = convert(request).report
    except ConversionError as exc:  # no route made any artifact
        run.errors = {target: str(exc) for target in targets}
        report = {"artifacts": []}
    for artifact in report["artifacts"]:
        if artifact["precision"] != "fp32":
            continue
        target = artifact["target"]
        planned = next(a for a in made.artifacts if a.target == target and a.precision == "fp32")
        if artifact.get("route"):
            run.routes[target] = next(r for r in planned.routes if r.describe(made.trunk) == artifact["route"])
        if artifact.get("parity"):
            run.parity[target] = artifact["parity"]
        if not artifact["published"]:
            run.errors[target] = artifact["reason"]
    run.wall = time.monotonic() - started
    run.bundles = _bundles(request, made.every_step)
    return run


def route_formats(source: str, steps: list[Step]) -> list[str]:
    """`torchscript → onnx → savedmodel → tfjs`: the source, then what each converter makes."""
    return [source, *(catalog.get(s.stage, s.impl).produces for s in steps if s.stage in ("export", "emit"))]
