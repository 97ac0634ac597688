"""This process's warm workers: one per runtime, started on first use, stopped when the process ends; or,
in a command the resident engine runs, connections to the engine's shared workers (shared.py)."""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path

from flows.runtimes.warm import enabled
from flows.runtimes.warm.modules import modules
from flows.runtimes.warm.shared import Shared
from flows.runtimes.warm.worker import Worker


class Pool:
    """This process's workers, one per runtime (a venv: its path), started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: dict[Path, Worker] = {}
        self._shared: Shared | None = None

    def share(self, shared: Shared) -> None:
        """Connect to these shared workers instead of starting this process's own."""
        self._shared = shared

    def worker(self, image: str, python: Path, env: dict[str, str], logs: Path) -> Worker | None:
        """The runtime's worker, started now if it is not running; None: its stages run cold."""
        if not enabled() or modules(image) is None:
            return None
        with self._lock:
            found = self._workers.get(python)
            if found is None:
                found = self._workers[python] = self._connect(image, python, env) or self._spawn(
                    image, python, env, logs
                )
        return None if found.broken else found

    def _connect(self, image: str, python: Path, env: dict[str, str]) -> Worker | None:
        if self._shared is None:
            return None
        try:
            return self._shared.worker(image, python, env)
        except OSError:  # this command's own worker, then
            return None

    @staticmethod
    def _spawn(image: str, python: Path, env: dict[str, str], logs: Path) -> Worker:
        logs.mkdir(parents=True, exist_ok=True)
        return Worker.spawn(image, python, env, logs / f"warm-{image}-{os.getpid()}.log")

    def stop(self) -> None:
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()


POOL = Pool()
atexit.register(POOL.stop)
