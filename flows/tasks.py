"""The one Prefect task: run a stage implementation, or reuse its cached bundle (flows/stage_run.py)."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.errors import TransientStageFailure
from flows.runtimes import RuntimeSpec
from flows.stage_run import StageOutcome, run_or_reuse


def _transient_only(task, task_run, state) -> bool:
    """Retry a stage killed from outside (flows/runtimes/base.py); a failure its inputs caused would recur."""
    return isinstance(state.data, TransientStageFailure)


@task(
    name="stage",
    task_run_name="{stage}/{impl} {label}",
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_transient_only,
    cache_policy=NO_CACHE,
)
def run_stage(
    stage: str,
    impl: str,
    config: dict,
    inputs: list[Path],
    runtime: RuntimeSpec,
    timeout_s: float = 1800.0,
    label: str = "",
) -> StageOutcome:
    """Run `stage/impl` on the input bundles in its image; a key hit does no work."""
    return run_or_reuse(stage, impl, config, inputs, runtime, timeout_s, label)


__all__ = ["StageOutcome", "run_stage"]
