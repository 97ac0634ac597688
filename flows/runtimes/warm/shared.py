"""Warm workers shared by the commands the resident engine runs (flows/resident/), one per runtime.

A worker of one command's own (flows/runtimes/warm/pool.py) imports its framework in every command: a
conversion served by the engine still paid TensorFlow's 3-4 s in its first TF stage. The engine's commands
instead connect to a worker that outlives them: the first command that needs a runtime starts it, listening
on a socket in the engine's folder (`server/warm/`, its owner's only), and the later ones connect to it.
Each command has a connection of its own; the worker forks each stage as before, so stages stay isolated
from one another and from the worker. A worker is made for one engine (its pid is hashed into the socket's name):
it ends with the engine, whose code is the commands' code, or when no command has been connected to it
for 15 minutes (IDLE_S in stages/warm/worker.py). Anything that goes wrong here gives the command a worker
of its own instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import socket
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

from flows.runtimes.warm.modules import Needs
from flows.runtimes.warm.worker import Worker, imports_of
from flows.unix_socket import connect_in

LISTEN = "listen:"  # stages/warm/worker.py's control argument for a shared worker
BIND_TIMEOUT_S = 10.0  # a new worker binds its socket before any import


def _connect(folder: Path, name: str) -> socket.socket | None:
    """A connection to the worker listening on folder/name, None when none does."""
    try:
        return connect_in(folder, name)
    except OSError:
        return None


class Shared:
    """The engine's workers, in `folder`, each ending with the process `owner` (the engine)."""

    def __init__(self, folder: Path, owner: int):
        self.folder = folder
        self.owner = owner

    def name(self, image: str, python: Path, env: dict[str, str]) -> str:
        """One worker per runtime, interpreter, environment and engine."""
        key = json.dumps([str(python), sorted(env.items()), self.owner]).encode()
        return f"{image}-{hashlib.sha256(key).hexdigest()[:16]}"

    def worker(self, image: str, python: Path, env: dict[str, str]) -> Worker:
        """A connection to the runtime's shared worker, started now if none listens; OSError when neither
        can be had."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = self.name(image, python, env)
        control = _connect(self.folder, f"{name}.sock")
        if control is None:
            with open(self.folder / f".{name}.lock", "w") as guard:
                fcntl.flock(guard, fcntl.LOCK_EX)  # two commands at once start one worker
                control = _connect(self.folder, f"{name}.sock") or self._start(image, python, env, name)
        return Worker(image, control, Needs(python.parent.parent), stop=lambda: None)

    def _start(self, image: str, python: Path, env: dict[str, str], name: str) -> socket.socket:
        path = self.folder / f"{name}.sock"
        path.unlink(missing_ok=True)  # a worker that ended without removing it
        with open(self.folder / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                [
                    str(python),
                    "-m",
                    "stages.warm.worker",
                    image,
                    f"{LISTEN}{path}",
                    json.dumps(asdict(imports_of(image))),
                    str(self.owner),
                ],
                env=env,
                cwd="/",  # it holds no folder of anybody's
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + BIND_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            control = _connect(self.folder, path.name)
            if control is not None:
                return control
            time.sleep(0.02)
        if process.poll() is None:
            process.kill()
        raise OSError(f"the shared {image} worker did not listen (see {self.folder / name}.log)")
