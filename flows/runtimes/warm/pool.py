"""This process's warm workers: one per runtime, started on first use, stopped when the process ends."""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path

from flows.runtimes.warm import enabled
from flows.runtimes.warm.modules import modules
from flows.runtimes.warm.worker import Worker


class Pool:
    """This process's workers, one per runtime (a venv: its path), started on first use."""

    def __init__(self):
        self._lock = threading.Lock()
        self._workers: dict[Path, Worker] = {}

    def worker(self, image: str, python: Path, env: dict[str, str], logs: Path) -> Worker | None:
        """The runtime's worker, started now if it is not running; None: its stages run cold."""
        if not enabled() or modules(image) is None:
            return None
        with self._lock:
            found = self._workers.get(python)
            if found is None:
                logs.mkdir(parents=True, exist_ok=True)
                log = logs / f"warm-{image}-{os.getpid()}.log"
                found = self._workers[python] = Worker.spawn(image, python, env, log)
        return None if found.broken else found

    def stop(self) -> None:
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()


POOL = Pool()
atexit.register(POOL.stop)
