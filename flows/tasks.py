"""The one Prefect task: run a stage implementation, or reuse its cached bundle."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows import progress
from flows.budget import BUDGET
from flows.cache import BundleCache, stage_key
from flows.errors import StageFailed, TransientStageFailure
from flows.runtimes import Invocation, RuntimeSpec, select
from stages import catalog


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    impl: str
    bundle: Path
    seconds: float      # wall time of the stage process (0 when cached)
    cached: bool
    label: str = ""     # what distinguishes runs of one impl: fp16, int8 …
    started_at: float = 0.0          # wall clock (epoch seconds) when its process started
    cores: tuple[int, ...] = ()      # the CPU cores it ran on

    @property
    def name(self) -> str:
        return f"{self.stage}/{self.impl} {self.label}".strip()


def _transient_only(task, task_run, state) -> bool:
    return isinstance(state.data, TransientStageFailure)


@task(name="stage", task_run_name="{stage}/{impl} {label}", retries=2, retry_delay_seconds=2,
      retry_condition_fn=_transient_only, cache_policy=NO_CACHE)
def run_stage(stage: str, impl: str, config: dict, inputs: list[Path], runtime: RuntimeSpec,
              timeout_s: float = 1800.0, label: str = "") -> StageOutcome:
    """Run `stage/impl` on the input bundles in its image; a key hit does no work."""
    name = f"{stage}/{impl} {label}".strip()
    spec = catalog.get(stage, impl)
    engine = select(runtime)
    cache = BundleCache()
    key = stage_key(stage, impl, config, inputs, engine.identity(spec.image))
    hit = cache.get(key)
    if hit is None:
        with cache.claim(key):   # one maker per key, across runs: the others wait, then find its bundle
            hit = cache.get(key)
            known = cache.failure(key) if hit is None else None
            if known is not None:   # it failed on these very inputs, and said why: it would again
                progress.reporter.failed(f"{name} (failed on these inputs before)", known.cause)
                raise known
            if hit is None:
                return _make(name, Invocation(stage=stage, impl=impl, image=spec.image, config=config,
                                              inputs=inputs, out=cache.scratch(key), timeout_s=timeout_s),
                             runtime, label, key, cache)
    progress.reporter.finished(name, 0.0, cached=True)
    return StageOutcome(stage, impl, hit, 0.0, cached=True, label=label)


def _make(name: str, invocation: Invocation, runtime: RuntimeSpec, label: str, key: str,
          cache: BundleCache) -> StageOutcome:
    engine, scratch = select(runtime), invocation.out
    try:
        with BUDGET.take(runtime.allotment) as cores:   # waits while other branches hold the cores
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
    return StageOutcome(invocation.stage, invocation.impl, bundle, seconds, cached=False, label=label,
                        started_at=started_at, cores=cores)
