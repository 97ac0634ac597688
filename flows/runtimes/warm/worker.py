"""One runtime's worker process, and a stage running in a fork of it (the host's side of
stages/warm/worker.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from flows import progress
from flows.runtimes import reaper
from flows.runtimes.warm import Unavailable
from flows.runtimes.warm.modules import Imports, Needs, modules

READY_TIMEOUT_S = 300.0  # a worker's imports (TensorFlow on a busy machine) before it answers
MAX_MESSAGE = 1 << 16
# The worker's BLAS pool: OpenBLAS starts its threads when it is loaded, which would make the worker unsafe
# to fork; the frameworks' own pools start later, in the stage, sized by its cores.
WORKER_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1"}


def _receive(sock: socket.socket, timeout: float | None) -> dict | None:
    """The next message, None when the other end closed; TimeoutError when none came in time."""
    sock.settimeout(timeout)
    data = sock.recv(MAX_MESSAGE)
    return json.loads(data) if data else None


def imports_of(image: str) -> Imports:
    imports = modules(image)
    if imports is None:
        raise ValueError(f"the {image} runtime has no warm worker (no images/{image}/warm.txt)")
    return imports


def kill_group(pid: int) -> None:
    """SIGKILL to a stage's process group, by its pid in this machine's PID namespace."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Worker:
    """One runtime's worker and its control socket: a process of this machine (`Worker.spawn`), or the
    main process of the runtime's container (flows/runtimes/docker_warm.py). `stop` ends it; `kill(pid)`
    ends a stage's process group, `pid` as the worker sees it."""

    def __init__(
        self,
        image: str,
        control: socket.socket,
        needs: Needs,
        stop: Callable[[], None],
        kill: Callable[[int], None] = kill_group,
    ):
        self.image = image
        self.imports = imports_of(image)
        self.needs = needs
        self.control = control
        self._stop = stop
        self._kill = kill
        self._send = threading.Lock()
        self._ready = threading.Lock()
        self.hello: dict | None = None
        self.broken: str | None = None
        self.imported: set[str] = set()  # the when-used modules it was asked to import
        self.process: subprocess.Popen | None = None  # the worker's process, when it is one of this machine

    @classmethod
    def spawn(cls, image: str, python: Path, env: dict[str, str], log: Path) -> Worker:
        """The worker as a process of this machine, from the runtime's venv."""
        imports = imports_of(image)
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        written = open(log, "wb")
        process = subprocess.Popen(
            [str(python), "-m", "stages.warm.worker", image, str(theirs.fileno()), json.dumps(asdict(imports))],
            env=env,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=written,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        theirs.close()

        def stop() -> None:
            if process.poll() is None:
                reaper.kill_group(process, grace_s=0)
            written.close()

        worker = cls(image, control, Needs(python.parent.parent), stop)
        worker.process = process
        return worker

    def give_up(self, why: str) -> None:
        """This worker runs no more stages, and the runtime's next stages run cold: said once, in the run's
        notes (a worker that fell back in silence hid that no MXNet stage ran warm)."""
        if self.broken is None:
            self.broken = why
            progress.reporter.note(f"the {self.image} runtime's stages run cold from here on: {why}")

    def ready(self) -> None:
        """Wait for the worker's imports; Unavailable if it cannot serve."""
        with self._ready:
            if self.hello is None and self.broken is None:
                try:
                    hello = _receive(self.control, READY_TIMEOUT_S)
                except (TimeoutError, OSError, ValueError) as exc:
                    hello = {"ready": False, "why": f"no answer ({type(exc).__name__})"}
                if not hello or not hello.get("ready"):
                    self.give_up((hello or {}).get("why") or "it ended during its imports")
                    self.stop()
                else:
                    self.hello = hello
        if self.broken:
            raise Unavailable(f"the {self.image} worker: {self.broken}")

    def run(self, request: dict, log_fd: int) -> StageChild:
        """Hand the worker one stage (its log on `log_fd`); Unavailable, and no later stage either, when the
        worker cannot run it."""
        reply = self._hand(request, log_fd)
        try:
            return StageChild(reply, self.image, self._kill)
        except Unavailable as exc:
            self.give_up(str(exc))
            raise

    def learn(self, stage: str, used: list[str]) -> None:
        """A stage used these when-used modules: remember it for the stage's next runs (they are imported
        before it is forked), and have the worker import them now, for the stages after it."""
        used = sorted(set(used) & set(self.imports.when_used))
        self.needs.record(stage, used)
        new = sorted(set(used) - self.imported)
        if new and not self.broken:
            self.imported.update(new)
            try:
                with self._send:
                    self.control.send(json.dumps({"import": new}).encode())
            except OSError as exc:
                self.give_up(f"its socket failed ({exc})")

    def _hand(self, request: dict, log_fd: int) -> socket.socket:
        """Send the request; returns the socket the stage's pid and exit code come back on."""
        self.ready()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._send:
                socket.send_fds(self.control, [json.dumps(request).encode()], [theirs.fileno(), log_fd])
        except OSError as exc:
            mine.close()
            self.give_up(f"its socket failed ({exc})")
            raise Unavailable(f"the {self.image} worker: {self.broken}") from None
        finally:
            theirs.close()
        return mine

    def stop(self) -> None:
        self.control.close()
        self._stop()


class StageChild:
    """A stage running in a worker's child: wait for its exit code, or kill its process group."""

    def __init__(self, reply: socket.socket, image: str, kill: Callable[[int], None] = kill_group):
        self.reply = reply
        self._kill = kill
        self.pid: int | None = None
        self.used: list[str] = []  # the when-used modules the stage imported
        self.oom = False  # its container's memory limit killed a process while it ran
        self.why = ""  # what the worker says went wrong after the stage's end
        try:
            first = _receive(reply, READY_TIMEOUT_S)  # the worker may import what the stage uses first
        except (TimeoutError, OSError, ValueError):
            first = None
        if not first or "pid" not in first:
            reply.close()
            raise Unavailable((first or {}).get("unavailable") or f"the {image} worker did not start the stage")
        self.pid = first["pid"]

    def wait(self, timeout_s: float) -> int | None:
        """The stage's exit status (-N for signal N), or None when it ran out of time (then it is killed)."""
        deadline = time.monotonic() + timeout_s
        try:
            done = _receive(self.reply, max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            self.kill()
            return None
        except (OSError, ValueError):
            done = None
        self.reply.close()
        if done and "unavailable" in done:
            raise Unavailable(str(done["unavailable"]))
        if done and "code" in done:
            self.used = [name for name in done.get("used", []) if isinstance(name, str)]
            self.oom, self.why = bool(done.get("oom")), str(done.get("why") or "")
            return done["code"]
        return -signal.SIGKILL

    def kill(self) -> None:
        if self.pid is not None:
            self._kill(self.pid)
