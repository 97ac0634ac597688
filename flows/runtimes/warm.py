"""Warm runtime workers, the host's side: one worker per runtime per process, each stage a forked child.

A stage run cold is a new process that imports its framework again (TensorFlow: 3-4 s before any work).
A worker (stages/warm/worker.py) imports the frameworks named in images/<name>/warm.txt once; each stage
of that runtime is then a fork of it, which enters a sandbox the host made with the stage's own mounts
(bubblewrap around a placeholder, flows/runtimes/sandbox.py) before it reads anything. The stage contract
does not change: the same argv, exit codes, log and output checks as a cold stage.

Where a worker cannot be had (no warm.txt, a framework that starts threads at import, a worker that died,
a sandbox it could not enter) the stage runs cold, and so do the runtime's next stages in this process.
MODELFERRY_WARM=off runs every stage cold.
"""
from __future__ import annotations

import atexit
import fcntl
import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flows import IMAGES_ROOT

SWITCH = "MODELFERRY_WARM"
MODULES = "warm.txt"      # images/<name>/warm.txt: the modules its worker imports, one per line
WHEN_USED = "when-used"   # after a module's name: imported once a stage has used it
READY_TIMEOUT_S = 300.0   # a worker's imports (TensorFlow on a busy machine) before it answers
MAX_MESSAGE = 1 << 16
PROCESS = "MODELFERRY_PROCESS"   # in a warm stage's environment (and its provenance): "warm"
# The worker's BLAS pool: OpenBLAS starts its threads when it is loaded, which would make the worker unsafe
# to fork; the frameworks' own pools start later, in the stage, sized by its cores.
WORKER_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1"}


def enabled() -> bool:
    return os.environ.get(SWITCH, "").strip().lower() != "off"


@dataclass(frozen=True)
class Imports:
    """images/<name>/warm.txt: what the worker imports when it starts, and what once a stage used it."""
    start: tuple[str, ...]
    when_used: tuple[str, ...]


def modules(image: str) -> Imports | None:
    """What a runtime's worker imports, or None: that runtime has no worker."""
    path = IMAGES_ROOT / image / MODULES
    if not path.is_file():
        return None
    lines = [line.split("#")[0].split() for line in path.read_text().splitlines()]
    return Imports(start=tuple(words[0] for words in lines if len(words) == 1),
                   when_used=tuple(words[0] for words in lines if words[1:] == [WHEN_USED]))


class Unavailable(Exception):
    """The warm path cannot run this stage: run it cold."""


def _receive(sock: socket.socket, timeout: float | None) -> dict | None:
    """The next message, None when the other end closed; TimeoutError when none came in time."""
    sock.settimeout(timeout)
    data = sock.recv(MAX_MESSAGE)
    return json.loads(data) if data else None


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
            with open(self.path.with_suffix(".lock"), "w") as guard:   # runs at once merge, none is lost
                fcntl.flock(guard, fcntl.LOCK_EX)
                try:
                    known = json.loads(self.path.read_text())
                except (OSError, ValueError):
                    known = {}
                known[stage] = sorted(set(known.get(stage, [])) | set(used))
                partial = self.path.with_suffix(f".{os.getpid()}.tmp")
                partial.write_text(json.dumps(known, sort_keys=True, indent=1))
                os.replace(partial, self.path)
                self._known = known


class Worker:
    """One runtime's worker process and its control socket."""

    def __init__(self, image: str, python: Path, env: dict[str, str], log: Path, stages: list[str] = ()):
        """`stages`: those of this runtime the run will start (what they used before is imported at once)."""
        self.image = image
        self.needs = Needs(python.parent.parent)
        imports = modules(image)
        ahead = sorted({name for stage in stages for name in self.needs.of(stage)} & set(imports.when_used))
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._log = open(log, "wb")
        self.process = subprocess.Popen(
            [str(python), "-m", "stages.warm.worker", image, str(theirs.fileno()),
             json.dumps({**asdict(imports), "start": [*imports.start, *ahead]})],
            env=env, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)
        theirs.close()
        self._send = threading.Lock()
        self._ready = threading.Lock()
        self.hello: dict | None = None
        self.broken: str | None = None
        self.imported: set[str] = set(ahead)   # the when-used modules it was asked to import

    def ready(self) -> None:
        """Wait for the worker's imports; Unavailable if it cannot serve."""
        with self._ready:
            if self.hello is None and self.broken is None:
                try:
                    hello = _receive(self.control, READY_TIMEOUT_S)
                except (TimeoutError, OSError, ValueError) as exc:
                    hello = {"ready": False, "why": f"no answer ({type(exc).__name__})"}
                if not hello or not hello.get("ready"):
                    self.broken = (hello or {}).get("why") or "it ended during its imports"
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
            return StageChild(reply, self.image)
        except Unavailable as exc:
            self.broken = str(exc)
            raise

    def learn(self, stage: str, used: list[str]) -> None:
        """A stage used these when-used modules: remember it for the stage's next runs (they are imported
        before it is forked), and have the worker import them now, for the stages after it."""
        used = sorted(set(used) & set(modules(self.image).when_used))
        self.needs.record(stage, used)
        new = sorted(set(used) - self.imported)
        if new and not self.broken:
            self.imported.update(new)
            try:
                with self._send:
                    self.control.send(json.dumps({"import": new}).encode())
            except OSError as exc:
                self.broken = f"its socket failed ({exc})"

    def _hand(self, request: dict, log_fd: int) -> socket.socket:
        """Send the request; returns the socket the stage's pid and exit code come back on."""
        self.ready()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._send:
                socket.send_fds(self.control, [json.dumps(request).encode()], [theirs.fileno(), log_fd])
        except OSError as exc:
            mine.close()
            self.broken = f"its socket failed ({exc})"
            raise Unavailable(f"the {self.image} worker: {self.broken}") from None
        finally:
            theirs.close()
        return mine

    def stop(self) -> None:
        self.control.close()
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
        self._log.close()


class StageChild:
    """A stage running in a worker's child: wait for its exit code, or kill its process group."""

    def __init__(self, reply: socket.socket, image: str):
        self.reply = reply
        self.pid: int | None = None
        self.used: list[str] = []   # the when-used modules the stage imported
        try:
            first = _receive(reply, 60.0)
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
            return done["code"]
        return -signal.SIGKILL

    def kill(self) -> None:
        if self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class Pool:
    """This process's workers, one per runtime (a venv: its path), started on first use."""

    def __init__(self):
        self._lock = threading.Lock()
        self._workers: dict[Path, Worker] = {}

    def worker(self, image: str, python: Path, env: dict[str, str], logs: Path, stages: list[str] = ()
               ) -> Worker | None:
        """The runtime's worker, started now if it is not running (`stages`: see Worker)."""
        if not enabled() or modules(image) is None:
            return None
        with self._lock:
            found = self._workers.get(python)
            if found is None:
                logs.mkdir(parents=True, exist_ok=True)
                log = logs / f"warm-{image}-{os.getpid()}.log"
                found = self._workers[python] = Worker(image, python, env, log, stages)
        return None if found.broken else found

    def stop(self) -> None:
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()


POOL = Pool()
atexit.register(POOL.stop)
