"""What a runtime's warm worker imports: images/<name>/warm.txt, and what its stages were seen to use."""

from __future__ import annotations

import fcntl
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flows import IMAGES_ROOT

MODULES = "warm.txt"  # images/<name>/warm.txt: the modules its worker imports, one per line
WHEN_USED = "when-used"  # after a module's name: imported once a stage has used it


@dataclass(frozen=True)
class Imports:
    """images/<name>/warm.txt: what the worker imports when it starts, and what once a stage used it."""

    start: tuple[str, ...]
    when_used: tuple[str, ...]


@lru_cache(maxsize=None)
def modules(image: str) -> Imports | None:
    """What a runtime's worker imports, or None: that runtime has no worker (read once per process: every
    stage asks)."""
    path = IMAGES_ROOT / image / MODULES
    if not path.is_file():
        return None
    lines = [line.split("#")[0].split() for line in path.read_text().splitlines()]
    return Imports(
        start=tuple(words[0] for words in lines if len(words) == 1),
        when_used=tuple(words[0] for words in lines if words[1:] == [WHEN_USED]),
    )


class Needs:
    """Which when-used modules each stage of a runtime imported, kept beside its venv (the runtime is what
    decides them): the request for that stage carries them, and the worker imports them before it forks it,
    so that the first TensorFlow stage of a run does not import TensorFlow twice (once in the stage, then in
    the worker)."""

    FILE = "modelferry-warm.json"

    def __init__(self, venv: Path):
        self.path = venv / self.FILE
        self._lock = threading.Lock()
        try:
            self._known: dict[str, list[str]] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._known = {}

    def of(self, stage: str) -> list[str]:
        with self._lock:
            return list(self._known.get(stage, []))

    def record(self, stage: str, used: list[str]) -> None:
        with self._lock:
            if set(used) <= set(self._known.get(stage, [])):
                return
            self._known[stage] = sorted(set(self._known.get(stage, [])) | set(used))
            try:
                with open(self.path.with_suffix(".lock"), "w") as guard:  # runs at once merge, none is lost
                    fcntl.flock(guard, fcntl.LOCK_EX)
                    try:
                        known = json.loads(self.path.read_text())
                    except (OSError, ValueError):
                        known = {}
                    for name, modules in self._known.items():
                        known[name] = sorted(set(known.get(name, [])) | set(modules))
                    partial = self.path.with_suffix(f".{os.getpid()}.tmp")
                    partial.write_text(json.dumps(known, sort_keys=True, indent=1))
                    os.replace(partial, self.path)
                    self._known = known
            except OSError:  # a venv this user cannot write: this process remembers it alone
                pass
