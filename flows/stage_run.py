"""Run a stage implementation, or reuse its cached bundle: the body of the Prefect task (flows/tasks.py),
free of Prefect, so that a run's first stage can begin before Prefect is imported (flows/early.py) and its
task take the outcome when the flow gets there."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from flows import progress
from flows.budget import BUDGET
from flows.cache import BundleCache, stage_code, stage_key
from flows.errors import StageFailed
from flows.runtimes import Invocation, RuntimeSpec, select
from stages import catalog


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    impl: str
    bundle: Path
    seconds: float  # wall time of the stage process (0 when cached)
    cached: bool
    label: str = ""  # what distinguishes runs of one impl: fp16, int8 …
    started_at: float = 0.0  # wall clock (epoch seconds) when its process started
    cores: tuple[int, ...] = ()  # the CPU cores it ran on

    @property
    def name(self) -> str:
        return f"{self.stage}/{self.impl} {self.label}".strip()


_begun: dict[str, Future] = {}  # stage key -> the outcome of a stage begun ahead of its task (begin)
_begun_lock = threading.Lock()


def run_or_reuse(
    stage: str,
    impl: str,
    config: dict,
    inputs: list[Path],
    runtime: RuntimeSpec,
    timeout_s: float = 1800.0,
    label: str = "",
) -> StageOutcome:
    """Run `stage/impl` on the input bundles in its image; a key hit does no work; a stage begun ahead on
    these very inputs gives its outcome (or its failure), once."""
    key = key_of(stage, impl, config, inputs, runtime)
    with _begun_lock:
        begun = _begun.pop(key, None)
    if begun is not None:
        return begun.result()
    return _run_or_reuse(key, stage, impl, config, inputs, runtime, timeout_s, label)


def begin(
    stage: str,
    impl: str,
    config: dict,
    inputs: list[Path],
    runtime: RuntimeSpec,
    timeout_s: float = 1800.0,
    label: str = "",
) -> Future:
    """Start the stage now, in a thread of its own (one branch of the CPU budget while it runs, unless it is
    an idle stage); the task that asks for it later takes its outcome instead of running it again. Returns
    that outcome."""
    key = key_of(stage, impl, config, inputs, runtime)
    future: Future = Future()
    with _begun_lock:
        _begun[key] = future

    def body() -> None:
        try:  # an idle stage is no branch: it takes what the others leave
            with nullcontext() if catalog.get(stage, impl).idle else BUDGET.demand(1):
                future.set_result(
                    _run_or_reuse(key, stage, impl, config, inputs, runtime, timeout_s, label, alone=True)
                )
        except BaseException as exc:  # the task re-raises it as its own
            future.set_exception(exc)

    threading.Thread(target=body, name=f"begun {stage}/{impl}", daemon=True).start()
    return future


def know_ahead(stage: str, impl: str, runtime: RuntimeSpec) -> None:
    """Work out now what a stage's cache key holds besides its config and inputs (its runtime's identity, its
    code's hash: each kept for the process), so that `key_of` is quick when its inputs are made."""
    select(runtime).identity(catalog.get(stage, impl).image)
    stage_code(stage, impl)


def key_of(stage: str, impl: str, config: dict, inputs: list[Path], runtime: RuntimeSpec) -> str:
    """The stage's cache key in the runtime `runtime` selects (flows/cache.py)."""
    return stage_key(stage, impl, config, inputs, select(runtime).identity(catalog.get(stage, impl).image))


def _run_or_reuse(
    key: str,
    stage: str,
    impl: str,
    config: dict,
    inputs: list[Path],
    runtime: RuntimeSpec,
    timeout_s: float,
    label: str,
    alone: bool = False,
) -> StageOutcome:
    """`alone`: begun ahead of the flow, the one stage of the run that is not idle while it runs (flows/early.py),
    it takes the cores of a run's one branch, whatever the flow counts while it waits for it."""
    name = f"{stage}/{impl} {label}".strip()
    cache = BundleCache()
    hit = cache.get(key)
    if hit is None:
        with cache.claim(key):  # one maker per key, across runs: the others wait, then find its bundle
            hit = cache.get(key)
            known = cache.failure(key) if hit is None else None
            if known is not None:  # it failed on these very inputs, and said why: it would again
                progress.reporter.failed(f"{name} (failed on these inputs before)", known.cause)
                raise known
            if hit is None:
                return _make(
                    name,
                    Invocation(
                        stage=stage,
                        impl=impl,
                        image=catalog.get(stage, impl).image,
                        config=config,
                        inputs=inputs,
                        out=cache.scratch(key),
                        timeout_s=timeout_s,
                        idle=catalog.get(stage, impl).idle,
                    ),
                    runtime,
                    label,
                    key,
                    cache,
                    alone,
                )
    progress.reporter.finished(name, 0.0, cached=True)
    return StageOutcome(stage, impl, hit, 0.0, cached=True, label=label)


def _make(
    name: str,
    invocation: Invocation,
    runtime: RuntimeSpec,
    label: str,
    key: str,
    cache: BundleCache,
    alone: bool = False,
) -> StageOutcome:
    engine, scratch = select(runtime), invocation.out
    try:
        # waits while other branches hold the cores; an idle stage takes none (it runs on what the others leave)
        # unless the user set --jobs or --stage-cpus: those hold for every stage
        outside = invocation.idle and runtime.jobs is None and runtime.cpus is None
        with nullcontext(()) if outside else BUDGET.take(runtime.allotment, 1 if alone else None) as cores:
            progress.reporter.started(name, invocation.image, engine.name)
            started, started_at = time.monotonic(), time.time()
            engine.run(replace(invocation, cores=cores))
            seconds = time.monotonic() - started
    except BaseException as exc:  # failed, timed out or interrupted: leave no half-written bundle
        cache.discard(scratch)
        if isinstance(exc, StageFailed):
            progress.reporter.failed(name, exc.cause)
            if exc.settled:
                cache.remember_failure(key, exc)
        raise
    bundle = cache.commit(scratch, key)
    progress.reporter.finished(name, seconds, cached=False)
    return StageOutcome(
        invocation.stage,
        invocation.impl,
        bundle,
        seconds,
        cached=False,
        label=label,
        started_at=started_at,
        cores=cores,
    )
