"""A registry row: one stage implementation, declared in its framework's `registry.py`.

Pure Python on purpose: the orchestrator imports every framework's registry without any framework.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Impl:
    """A stage implementation. For converters (export, emit): `preference` orders the routes to a target
    (lower first; the planner sums it over a route), `settings` are fixed options the row passes to its
    module (one module, several rows: onnx2tf with other options is another route), and `takes` names
    what the planner may add from the request (`portable`: the output may go on to TFJS). `quantizable`:
    whether the target's quantize stage can start from what this converter makes; `as_is`: it converts
    nothing (the source file is the artifact). For validate rows,
    `runner` is the framework's module whose `run_samples(bundle, feeds)` runs the artifact. `idle`: the stage
    runs at the lowest CPU priority, on any core and outside the CPU budget (flows/budget.py) unless the user
    set --jobs or --stage-cpus, so that it takes only what the stages beside it leave (reference: the
    source's golden outputs beside the converters)."""

    stage: str
    name: str
    image: str
    module: str
    consumes: tuple[str, ...]
    produces: str
    summary: str
    options: tuple[str, ...] = field(default=())
    preference: int = 0
    settings: tuple[tuple[str, object], ...] = field(default=())
    takes: tuple[str, ...] = field(default=())
    quantizable: bool = True
    as_is: bool = False
    runner: str = ""
    idle: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.stage, self.name)

    def settings_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in self.settings}

    @property
    def modules(self) -> tuple[str, ...]:
        """The modules the stage runs: its own, and its runner's (what its cache key and image hold)."""
        return (self.module, self.runner) if self.runner else (self.module,)
