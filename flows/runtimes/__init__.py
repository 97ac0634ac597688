"""Runtimes run a stage process under the stage contract in a pinned environment.

`docker` runs each stage in its image, hardened; `venv` runs it in a
virtualenv made from the same lock file where no Docker engine answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from flows.runtimes.base import Invocation, Runtime, StageRun


@dataclass(frozen=True)
class RuntimeSpec:
    """Which runtime, with which limits: what a flow hands to its tasks."""

    name: str = "auto"
    memory: str | None = None  # docker memory limit, e.g. "4g"
    cpus: float | None = None  # cores per stage (flows.budget)
    jobs: int | None = None  # stages at once

    @property
    def allotment(self):
        from flows.budget import Allotment

        return Allotment(self.jobs, self.cpus)


def _venv(spec: RuntimeSpec) -> Runtime:
    from flows.runtimes.venv import VenvRuntime

    return VenvRuntime()


def _docker(spec: RuntimeSpec) -> Runtime:
    from flows.runtimes.docker import DockerLimits, DockerRuntime

    return DockerRuntime(limits=DockerLimits(memory=spec.memory, cpus=spec.cpus))


RUNTIMES = {"docker": _docker, "venv": _venv}


def resolve_auto(spec: RuntimeSpec) -> tuple[RuntimeSpec, str]:
    """`auto` becomes docker where an engine answers and a base image is there, else venv."""
    if spec.name != "auto":
        return spec, f"runtime: {spec.name}"
    from flows.runtimes.docker import engine_answers

    if engine_answers():
        try:
            from flows.images import base_image, docker_client

            base_image(docker_client())
            return replace(spec, name="docker"), "runtime: docker (a Docker engine answered)"
        except Exception as exc:
            return replace(spec, name="venv"), f"runtime: venv (Docker engine answered, but {exc})"
    return replace(spec, name="venv"), "runtime: venv (no Docker engine answered)"


@lru_cache(maxsize=None)
def select(spec: RuntimeSpec) -> Runtime:
    spec, _ = resolve_auto(spec)
    try:
        return RUNTIMES[spec.name](spec)
    except KeyError:
        raise ValueError(f"unknown runtime {spec.name!r}; choose auto or one of {', '.join(RUNTIMES)}") from None


__all__ = ["Invocation", "Runtime", "RuntimeSpec", "StageRun", "RUNTIMES", "resolve_auto", "select"]
