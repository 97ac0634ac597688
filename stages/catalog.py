"""The one registry of stage implementations, gathered from the frameworks' folders.

Each framework's folder declares its rows in `stages/<framework>/registry.py`: `IMPLS` (which stage of the
DAG an implementation serves, which runtime image it runs in, which module holds its `run()`, which bundle
formats it reads and writes, and for validate rows the module that runs the artifact), and the `SOURCES`
(how their files are recognised: stages/sources.py) and `TARGETS` it answers. The CLI's --help, the
planner and the stage entry point all read the table gathered here; adding a framework is adding a folder.

Pure Python on purpose: the orchestrator imports it without any framework. Inside a stage's runtime
image only the registries of the frameworks it holds are there, and only those are read.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

from stages.impl import Impl
from stages.options import Option
from stages.sources import Source

STAGES = ("load", "reference", "surgery", "export", "emit", "quantize", "validate", "diagnose", "inspect")
REGISTRY = "registry"


def registries() -> list[str]:
    """The registry modules of the framework folders present, in folder-name order."""
    root = Path(__file__).resolve().parent
    return [f"stages.{path.parent.name}.{REGISTRY}" for path in sorted(root.glob(f"*/{REGISTRY}.py"))]


@dataclasses.dataclass(frozen=True)
class Declared:
    """A framework's option as the catalog holds it: with the registry that declares it and the sources
    that framework answers (the ones a source option applies to)."""

    option: Option
    registry: str
    sources: tuple[str, ...]

    @property
    def framework(self) -> str:
        return self.registry.split(".")[1]

    def reaches(self, impl: Impl) -> bool:
        """Whether a step of `impl` gets the option's value in its config."""
        return self.option.reaches(impl.stage, _HOMES[impl.key] == self.registry, impl.consumes)


def _options(module, name: str, taken: dict[str, str]) -> list[Declared]:
    declared = []
    for option in getattr(module, "OPTIONS", ()):
        if option.name in taken:
            raise ValueError(f"{name} declares option {option.name}, already declared by {taken[option.name]}")
        declared.append(Declared(option, name, tuple(source.format for source in getattr(module, "SOURCES", ()))))
    return declared


def _gather():
    impls: list[Impl] = []
    targets: dict[str, str] = {}
    sources: list[Source] = []
    homes: dict[tuple[str, str], str] = {}
    options: list[Declared] = []
    for name in registries():
        module = importlib.import_module(name)
        for impl in module.IMPLS:
            if impl.key in homes:
                raise ValueError(f"{name} registers {impl.stage}/{impl.name}, already registered by {homes[impl.key]}")
            homes[impl.key] = name
            impls.append(impl)
        targets.update(getattr(module, "TARGETS", {}))
        for source in getattr(module, "SOURCES", ()):
            if source.format in {known.format for known in sources}:
                raise ValueError(f"{name} declares source {source.format}, already declared by another registry")
            sources.append(source)
        options += _options(module, name, {d.option.name: d.registry for d in options})
    return tuple(impls), targets, tuple(sources), homes, tuple(options)


# IMPLS: every row. TARGETS: what a user names with --to -> the bundle format that answers it.
# SOURCE_KINDS: how each source format's files are recognised (stages/sources.py), in registry order.
# SOURCES: a source format's name -> the bundle format its load stage reads.
# OPTIONS: every framework's own options (stages/options.py), in registry order.
IMPLS, TARGETS, SOURCE_KINDS, _HOMES, OPTIONS = _gather()
SOURCES = {source.format: source.bundle for source in SOURCE_KINDS}
_BY_KEY = {impl.key: impl for impl in IMPLS}


def home(impl: Impl) -> str:
    """The registry module that declares `impl` (its image carries that file)."""
    return _HOMES[impl.key]


def get(stage: str, name: str) -> Impl:
    try:
        return _BY_KEY[(stage, name)]
    except KeyError:
        known = ", ".join(f"{s}/{n}" for s, n in _BY_KEY)
        raise KeyError(f"no stage implementation {stage}/{name}; known: {known}") from None


# Every --quantize mode some target offers (fp16, dynamic, int8 …), in registry order.
QUANTIZE_MODES = tuple(dict.fromkeys(mode for impl in IMPLS if impl.stage == "quantize" for mode in impl.options))


def quantize_modes(target: str) -> tuple[str, ...]:
    """The --quantize modes a target offers: the options of the quantize stage for its format."""
    for impl in IMPLS:
        if impl.stage == "quantize" and TARGETS[target] in impl.consumes:
            return impl.options
    return ()


def images() -> list[str]:
    return sorted({impl.image for impl in IMPLS})


def find(stage: str, consumes: str, produces: str | None = None) -> Impl:
    """The implementation of `stage` that reads `consumes` bundles (and makes `produces`)."""
    for impl in IMPLS:
        if impl.stage == stage and consumes in impl.consumes and produces in (None, impl.produces):
            return impl
    raise KeyError(f"no {stage} stage reads {consumes!r} bundles" + (f" and makes {produces!r}" if produces else ""))
