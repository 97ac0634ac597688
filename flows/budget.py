"""The CPU budget: how many stages run at once, and on which cores.

One budget per process (the machine's cores do not multiply with the runs in it: a batch's
conversions share it). A stage takes `stage_cpus` cores from it for as long as its process runs, and
at most `jobs` stages hold cores at once; a stage that finds too few free cores waits. The cores it
got are pinned: docker's --cpuset-cpus, the venv process's CPU affinity, so that two stages on two
cores never share one.

Unless the user set --jobs or --stage-cpus, a stage's share follows what could run beside it: a run's
trunk and each of its branches count while they run (`demand`), and a stage gets the cores divided by
the branches running in the process, so that a one-target conversion's converter has every core, two
branches (or two conversions of a batch) one each, and the last branch left all of them again.
"""

from __future__ import annotations

import math
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass


def machine_cpus() -> list[int]:
    """The cores this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


@dataclass(frozen=True)
class Allotment:
    """What one run asks of the budget."""

    jobs: int | None = None  # stages at once; default: one per core
    stage_cpus: float | None = None  # cores per stage; default: cores / jobs

    def resolve(self, cores: int, demand: int = 0) -> tuple[int, int]:
        """(stages at once, cores per stage); `demand`: the branches that may run at once in this process,
        which sets the share when neither is given."""
        jobs = max(1, self.jobs or cores)
        if self.stage_cpus:
            per_stage = math.ceil(self.stage_cpus)
        else:
            per_stage = max(1, cores // (jobs if self.jobs or not demand else min(cores, demand)))
        if per_stage > cores:
            raise ValueError(f"--stage-cpus {self.stage_cpus:g} is more than this machine's {cores} cores")
        return jobs, per_stage


class CpuBudget:
    def __init__(self, cores: list[int] | None = None):
        self.cores = cores or machine_cpus()
        self._free = list(self.cores)
        self._running = 0
        self._demand = 0
        self._changed = threading.Condition()

    @contextmanager
    def demand(self, branches: int):
        """While a part of a run goes on (its trunk, one of its branches): how many branches it is."""
        with self._changed:
            self._demand += max(1, branches)
        try:
            yield
        finally:
            with self._changed:
                self._demand -= max(1, branches)
                self._changed.notify_all()

    @contextmanager
    def take(self, allotment: Allotment, demand: int | None = None):
        """Wait for the cores one stage of this run may use; yields their ids. `demand`: the branches to share
        with, where the caller knows better than the count (a stage begun ahead of its flow: flows/early.py)."""
        with self._changed:
            jobs, per_stage = allotment.resolve(len(self.cores), self._demand if demand is None else demand)
            self._changed.wait_for(lambda: self._running < jobs and len(self._free) >= per_stage)
            mine, self._free = self._free[:per_stage], self._free[per_stage:]
            self._running += 1
        try:
            yield tuple(mine)
        finally:
            with self._changed:
                self._free = sorted(self._free + mine)
                self._running -= 1
                self._changed.notify_all()


BUDGET = CpuBudget()
