"""The one Prefect task: run a stage implementation, or reuse its cached bundle."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows import progress
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
    if hit:
        progress.reporter.finished(name, 0.0, cached=True)
        return StageOutcome(stage, impl, hit, 0.0, cached=True, label=label)

    progress.reporter.started(name, spec.image, engine.name)
    scratch = cache.scratch(key)
    started = time.monotonic()
    try:
        engine.run(Invocation(stage=stage, impl=impl, image=spec.image, config=config,
                              inputs=inputs, out=scratch, timeout_s=timeout_s))
    except BaseException as exc:  # failed, timed out or interrupted: leave no half-written bundle
        cache.discard(scratch)
        if isinstance(exc, StageFailed):
            progress.reporter.failed(name, exc.cause)
        raise
    seconds = time.monotonic() - started
    bundle = cache.commit(scratch, key)
    progress.reporter.finished(name, seconds, cached=False)
    return StageOutcome(stage, impl, bundle, seconds, cached=False, label=label)
