"""Which code a stage runs: its module and every `stages` module it imports, found by reading the source.

A stage's cache key and its image's tag hash this code only, so editing one framework's folder does not
invalidate the bundles (or rebuild the images) of the others. The entry point (`python -m stages`) and
what it imports are part of every stage. Imports are read statically, anywhere in a file (lazy imports
inside functions too); the JavaScript beside an included module (TFJS's run.js) comes with it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import threading
from functools import lru_cache, wraps
from pathlib import Path

from flows import STAGES_ROOT
from flows.settings import home

PACKAGE = "stages"
ENTRY = "stages.__main__"
SIDE_FILES = (".js",)  # code run by an included module that is not Python
# Prefect runs a flow's tasks in threads, and each computes its stage's key. CPython 3.11's `ast.parse` is
# not safe to run in two threads at once ("AST constructor recursion depth mismatch", seen in five of
# twelve `--jobs 2` re-runs), so every file is read and parsed once per process, under this lock.
_PARSING = threading.RLock()


def _once(function):
    """lru_cache, computed under the process's parse lock: one thread computes, the others wait for it."""
    cached = lru_cache(maxsize=None)(function)

    @wraps(function)
    def locked(*args):
        with _PARSING:
            return cached(*args)

    locked.cache_clear = cached.cache_clear
    return locked


def _file(module: str) -> Path | None:
    """The file of a `stages.…` module: a .py file, or a package's __init__.py."""
    base = STAGES_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """The `stages` modules a file imports (including `from stages.x import y` where y is a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    text = path.read_bytes()
    key = f"{hashlib.sha256(text).hexdigest()}:{package}"
    known = _parsed()
    if key not in known:
        known[key] = sorted(_parse(text, path, package))
        _remember(known)
    return set(known[key])


def _parse(text: bytes, path: Path, package: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


@lru_cache(maxsize=None)
def _parsed() -> dict[str, list[str]]:
    """What each file imports, by its bytes' sha256 and its package, as earlier processes parsed it (parsing
    every stage module is 0.1 s of each CLI call; the same bytes import the same modules)."""
    try:
        known = json.loads(_parsed_path().read_text())
        return known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        return {}


def _remember(known: dict[str, list[str]]) -> None:
    path = _parsed_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        partial.write_text(json.dumps(known, sort_keys=True))
        os.replace(partial, path)  # two processes at once: the last write wins, and nothing is lost but time
    except OSError:  # a home this user cannot write: this process parses again next time
        pass


def _parsed_path() -> Path:
    return home() / "code-imports.json"


@_once
def closure(module: str) -> frozenset[Path]:
    """Every file `module` needs: itself, what it imports (transitively), the packages' __init__.py on the
    way, and the side files (.js) in their folders."""
    files: set[Path] = set()
    todo = [module, ENTRY]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a.b.c runs a/ and a/b/
        path = _file(name)
        if path is None:
            continue  # an attribute imported from a module, not a module
        files.add(path)
        files.update(p for p in path.parent.iterdir() if p.suffix in SIDE_FILES)
        todo += sorted(_imports(path, name))
    return frozenset(files)


def sha256(files: frozenset[Path] | set[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(STAGES_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@_once
def stage_code_sha256(modules: tuple[str, ...]) -> str:
    """What a stage's cache key holds of its code: its modules (its own, its runner's) and their imports."""
    return sha256(image_files(modules))


@_once
def image_files(modules: tuple[str, ...]) -> frozenset[Path]:
    """The code an image needs: every file its stages run (and the registries that declare them)."""
    return frozenset().union(*(closure(module) for module in modules))
