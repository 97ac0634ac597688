"""Runtimes run a stage process under the stage contract in a pinned environment.

`venv` is implemented here; `docker` runs the same lock files as images.
"""
from __future__ import annotations

from flows.runtimes.base import Invocation, Runtime, StageRun
from flows.runtimes.venv import VenvRuntime

RUNTIMES: dict[str, type[Runtime]] = {"venv": VenvRuntime}


def select(name: str = "auto") -> Runtime:
    """The runtime a user asked for; `auto` picks the best one available here."""
    if name == "auto":
        name = "venv"
    try:
        return RUNTIMES[name]()
    except KeyError:
        raise ValueError(f"unknown runtime {name!r}; choose auto or one of {', '.join(RUNTIMES)}") from None


__all__ = ["Invocation", "Runtime", "StageRun", "RUNTIMES", "select"]
