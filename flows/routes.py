"""Making an artifact by its routes, in order: the first whose stages run and whose artifact passes
its gate makes it; the report says why each other route was not used.

Steps are run once per flow run (routes share them), and a step that failed is not run again for
another artifact: its failure is remembered with its reason.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from flows import progress
from flows.errors import StageFailed
from flows.plan import REFERENCE, Artifact, Route, Step
from flows.runtimes import RuntimeSpec, reaper
from flows.stage_run import StageOutcome
from flows.tasks import run_stage
from stages.bundle import Bundle

PASSED, FAILED, MISSED, SKIPPED, NOT_TRIED = "passed", "stage failed", "missed its gate", "skipped", "not tried"


class Steps:
    """Runs plan steps on demand, each at most once, from any branch's thread: a branch that needs a
    step another branch is running waits for it (and a step's inputs first). Remembers outcomes and
    failures."""

    def __init__(self, source_bundle: Path, spec: RuntimeSpec, timeout_s: float, plan: list[Step]):
        self.source_bundle, self.spec, self.timeout_s = source_bundle, spec, timeout_s
        self.plan = {step.id: step for step in plan}
        self.done: dict[str, StageOutcome] = {}
        self.failed: dict[str, StageFailed] = {}
        self.failures: list[tuple[Step, StageFailed]] = []  # in the order they failed, for the report
        self._running: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def run(self, step: Step) -> StageOutcome:
        inputs = [self.run(self.plan[i]).bundle for i in step.inputs] or [self.source_bundle]  # or their failure
        while True:
            with self._lock:
                if step.id in self.failed:
                    raise self.failed[step.id]
                if step.id in self.done:
                    return self.done[step.id]
                running = self._running.get(step.id)
                if running is None:
                    self._running[step.id] = threading.Event()
                    break
            running.wait()  # another branch runs it: then its outcome or failure is there
        try:
            outcome = run_stage(step.stage, step.impl, step.config, inputs, self.spec, self.timeout_s, step.label)
            with self._lock:
                self.done[step.id] = outcome
            return outcome
        except StageFailed as exc:
            with self._lock:
                self.failed[step.id] = exc
                self.failures.append((step, exc))
            raise
        finally:
            with self._lock:
                self._running.pop(step.id).set()

    def shared_failure(self, exc: StageFailed) -> bool:
        """Whether `exc` is the failure of a step every route reads besides its own (the source's golden
        outputs, when a stage of their own makes them): then no route can make the artifact."""
        return any(self.failed.get(i) is exc for i in self.plan if self.plan[i].stage == REFERENCE)

    def bundle(self, step: Step) -> Bundle:
        return Bundle.read(self.run(step).bundle)

    def parity(self, validate: Step) -> dict:
        return self.bundle(validate).manifest["metrics"]["parity"]

    def outcomes(self) -> list[StageOutcome]:
        return list(self.done.values())


@dataclass
class Made:
    """What became of one artifact: the bundle and parity of the route that made it (or of the first
    route that made one that missed its gate), and every route's outcome."""

    target: str
    precision: str
    artifact: Bundle | None = None
    parity: dict | None = None
    route: str | None = None
    attempts: list[dict] = field(default_factory=list)
    divergence: dict | None = None  # where the reported artifact leaves its ONNX graph, when it missed its gate
    latency: dict | None = None  # how fast it ran on this CPU, in its runtime (stages/validate/latency.py)
    failure: StageFailed | None = field(default=None, repr=False)  # the preferred route's, when no route made it

    @property
    def passed(self) -> bool:
        return bool(self.parity and self.parity.get("passed"))

    @property
    def reason(self) -> str:
        """One line: why it was not published. The artifact that missed its gate, where one was made (its
        worst output and first diverging layer), else the preferred route's failure; and how many others failed."""
        if self.passed:
            return ""
        tried = [a for a in self.attempts if a["outcome"] in (FAILED, MISSED)]
        others = (
            f" ({len(tried) - 1} other route{'s' if len(tried) > 2 else ''} failed too: see report.json)"
            if len(tried) > 1
            else ""
        )
        if self.parity is not None:
            p = self.parity
            return (
                f"failed its gate: worst output {p['worst_output']}, max abs err {p['max_abs_err']:.3g}, cosine "
                f"{p['cosine']:.6f} (gate: {p['outputs'][p['worst_output']]['gate']})"
                f"{said(self.divergence)}{others}"
            )
        first = tried[0] if tried else (self.attempts[0] if self.attempts else {"reason": "no route"})
        return f"not made: {first['reason']}{others}"


def _gate_summary(parity: dict) -> str:
    worst = parity["outputs"][parity["worst_output"]]
    return (
        f"output {parity['worst_output']}: max abs err {parity['max_abs_err']:.3g}, cosine "
        f"{parity['cosine']:.6f} (gate: {worst['gate']})"
    )


QUANTIZED_ONCE = "quantized on the first route whose fp32 artifact passed"
INTERRUPTED = "the run was interrupted"


def make(artifact: Artifact, steps: Steps, trunk: list[Step]) -> Made:
    """Try the artifact's routes in order until one makes an artifact that passes its gate. A quantized
    artifact is made once, on the first route whose fp32 artifact passed: its one quantizer is the hop
    that decides, and no other route has another."""
    made, decided = Made(artifact.target, artifact.precision), ""
    for route in artifact.routes:
        name = route.describe(trunk)
        if not decided and reaper.stopping():  # SIGTERM, Ctrl-C: no route begins (nor an fp32 one, for its check)
            decided = INTERRUPTED
        if decided:
            made.attempts.append({"route": name, "outcome": NOT_TRIED, "reason": decided})
            continue
        if route.needs is not None and not _fp32_passed(route, steps):
            made.attempts.append(
                {
                    "route": name,
                    "outcome": SKIPPED,
                    "reason": "the fp32 artifact of this route was not made or missed its gate",
                }
            )
            continue
        attempt, parity, failure = _attempt(artifact, route, name, steps)
        made.attempts.append(attempt)
        made.failure = made.failure or failure
        if parity is not None and (parity["passed"] or made.parity is None):
            made.artifact, made.parity, made.route = steps.bundle(route.made_by), parity, name
            made.divergence = attempt.get("divergence")
            made.latency = steps.bundle(route.validate).manifest["metrics"].get("latency")
        if route.needs is not None:
            decided = QUANTIZED_ONCE
        elif parity is not None and parity["passed"]:
            decided = "an earlier route passed"
        elif reaper.stopping():
            decided = INTERRUPTED
        else:
            _next(artifact, route)
    return made


def _attempt(artifact: Artifact, route: Route, name: str, steps: Steps) -> tuple[dict, dict | None, StageFailed | None]:
    """One route: its steps and validation; (the attempt as report.json has it, the parity, the failure)."""
    try:
        for step in route.steps:
            steps.run(step)
        parity = steps.parity(route.validate)
    except StageFailed as exc:
        if steps.shared_failure(exc):
            raise  # the run's failure, as a load failure is (flows/convert.py)
        return {"route": name, "outcome": FAILED, "stage": exc.stage, "reason": str(exc)}, None, exc
    if parity["passed"]:
        return {"route": name, "outcome": PASSED, "reason": ""}, parity, None
    divergence = diagnose(route, steps)
    return (
        {
            "route": name,
            "outcome": MISSED,
            "divergence": divergence,
            "reason": f"{artifact.name} {_gate_summary(parity)}{said(divergence)}",
        },
        parity,
        None,
    )


def _next(artifact: Artifact, failed: Route) -> None:
    later = artifact.routes[artifact.routes.index(failed) + 1 :]
    if later:
        progress.reporter.note(f"{artifact.name}: trying the next route ({len(later)} left)")


def diagnose(route: Route, steps: Steps) -> dict:
    """Where the route's artifact first leaves its ONNX graph (stages/diagnose), or why that is not known."""
    if route.diagnose is None:
        return {
            "layer": None,
            "why": "this route has no ONNX graph to compare the artifact with, or no "
            "layer-by-layer comparison for its format",
        }
    try:
        return steps.bundle(route.diagnose).manifest["metrics"]["divergence"]
    except StageFailed as exc:
        return {"layer": None, "why": f"the comparison failed: {exc}"}


def said(divergence: dict | None) -> str:
    """`; first diverging layer: conv_3 (Conv), error 2e-07 before, 0.41 after` (relative to the tensor's
    largest value), or nothing where none was located."""
    if not divergence or not divergence.get("layer"):
        return ""
    after = divergence.get("error_after")
    return (
        f"; first diverging layer: {divergence['layer']} ({divergence['op']}), relative error "
        f"{divergence['error_before']:.2g} before, "
        f"{'no tensor of its size' if after is None else f'{after:.2g}'} after"
    )


def no_artifact(results: list[Made]) -> StageFailed:
    """The error of a run in which no route made any artifact: the preferred route's failure, and where
    the other routes failed."""
    first = next(made.failure for made in results if made.failure)
    others = sorted({a["stage"] for made in results for a in made.attempts if a["outcome"] == FAILED} - {first.stage})
    also = f" (the other routes failed too, in {', '.join(others)})" if others else ""
    return type(first)(first.stage, first.cause + also, first.file, first.log_tail)


def _fp32_passed(route: Route, steps: Steps) -> bool:
    try:
        for step in route.steps[:-1]:
            steps.run(step)
        return route.needs is not None and bool(steps.parity(route.needs)["passed"])
    except StageFailed:
        return False
