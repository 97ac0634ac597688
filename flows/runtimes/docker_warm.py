"""The docker runtime's warm containers: one container per runtime per process, each stage a fork of it.

A stage run as a container of its own pays the container's start and its framework's imports (TensorFlow:
3-4 s) every time. Here the runtime's first stage starts one container whose main process is the warm worker
(stages/warm/worker.py): it imports the frameworks of images/<name>/warm.txt once, and each later stage of
that runtime is a fork of it, exec'd in by a request on the worker's control socket.

The container keeps the cold stage's hardening: no network, a read-only root, a tmpfs /tmp, memory, CPU and
pids limits, no-new-privileges. Its mounts are fixed when it starts, so it gets one folder of its own on the
host (`root`, under MODELFERRY_HOME: the same disk as the bundle cache), at /work read-write and again at
/work-ro read-only. Each stage gets a folder there, opened to its gid alone: its inputs linked in (read
through /work-ro, so a write fails as on a read-only mount, and the files are not the stage's either), its
config, and its output, work and temporary folders, the stage's own. The worker runs as the container's
root with CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID and KILL only; each stage runs under a uid of its own
with no capability (stages/warm/account.py), so that two stages of one container cannot read or write each
other's files. The output comes back to the host's bundle, checked as a cold stage's is.

Where a worker cannot be had (no warm.txt, an image without the warm worker, a framework that starts threads
at import, a container that ended) the stage runs as a container of its own, and so do that runtime's next
stages in this process. MODELFERRY_WARM=off runs every stage so. A container lives until this process ends.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from flows.runtimes import reaper, sandbox, warm
from flows.runtimes.base import (
    Invocation,
    StageRun,
    log_tail,
    raise_failure,
    raise_out_of_memory,
    stage_argv,
    thread_environment,
)
from flows.runtimes.warm.modules import Imports, Needs, modules
from flows.runtimes.warm.worker import READY_TIMEOUT_S, WORKER_ENVIRONMENT, Worker, imports_of
from flows.server import pid_alive
from flows.settings import home

MOUNT, READ_ONLY, CONTROL = "/work", "/work-ro", "/control"
FIRST_STAGE_UID = 20000  # stage n of a container runs as FIRST_STAGE_UID + n
STAGE_UIDS = 40000
CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL"]
LABEL = "modelferry.warm"
OWNER = "owner.json"  # in a container's folder: the host and pid of the process it serves


class Engine(Protocol):
    """What a warm container needs of the docker runtime (flows/runtimes/docker.py)."""

    client: Any
    limits: Any

    def tag(self, image: str) -> str: ...

    def identity(self, image: str) -> str: ...

    def owner(self) -> tuple[int, int]: ...


def _link_tree(source: Path, target: Path) -> None:
    """`source` (a bundle) at `target`, file by file as hard links where they can be (the same disk), copied
    where not, or where a file is not readable by every user (the stage's uid is nobody's)."""

    def link(src: str, dst: str) -> None:
        if os.stat(src).st_mode & stat.S_IROTH:
            try:
                os.link(src, dst)
                return
            except OSError:
                pass
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o644)

    shutil.copytree(source, target, symlinks=True, copy_function=link)


class Container:
    """One runtime's container and the worker in it."""

    def __init__(self, runtime: Engine, image: str):
        imports = imports_of(image)
        self.image = image
        self.runtime = runtime
        self._stages = itertools.count(1)
        base = home() / "warm-docker"
        base.mkdir(parents=True, exist_ok=True)
        self.container: Any = None
        self.root = Path(tempfile.mkdtemp(prefix=f"{image}-", dir=base))
        (self.root / OWNER).write_text(json.dumps(_whose()))
        os.chmod(self.root / OWNER, 0o600)
        os.chmod(self.root, 0o711)  # a stage finds its own folder by its path, and cannot list the others
        # A socket's path is short (108 bytes): it lies in a folder of its own under /tmp, mounted alone.
        self.control_dir = Path(tempfile.mkdtemp(prefix="modelferry-warm-"))
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            listener.bind(str(self.control_dir / "control.sock"))
            listener.listen(1)
            self._start(image, imports, listener)
        except BaseException:
            self.remove()
            raise
        finally:
            listener.close()

    def _start(self, image: str, imports: Imports, listener: socket.socket) -> None:
        runtime = self.runtime
        tag = runtime.tag(image)
        self.env = dict(item.split("=", 1) for item in runtime.client.images.get(tag).attrs["Config"]["Env"] or [])
        self.identity = runtime.identity(image)
        self.owner = runtime.owner()
        limits = runtime.limits
        self.container = runtime.client.containers.create(
            tag,
            entrypoint=["python", "-m", "stages.warm.worker"],
            command=[image, f"{CONTROL}/control.sock", json.dumps(asdict(imports))],
            mounts=[
                _mount(self.root, MOUNT, read_only=False),
                _mount(self.root, READ_ONLY, read_only=True),
                _mount(self.control_dir, CONTROL, read_only=False),
            ],
            working_dir="/tmp",
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": "rw,exec,size=4g"},
            user="0:0",
            mem_limit=limits.memory,
            memswap_limit=limits.memory,
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids * 4,
            security_opt=["no-new-privileges"],
            cap_drop=["ALL"],
            cap_add=CAPABILITIES,
            environment={**WORKER_ENVIRONMENT, "MODELFERRY_RUNTIME": self.identity},
            labels={
                LABEL: image,
                "modelferry.stage": f"warm/{image}",
                "modelferry.pid": str(os.getpid()),
                "modelferry.host": socket.gethostname(),
            },
        )
        self.container.start()
        control = self._accept(listener)
        needs = home() / "warm-docker" / f"needs-{tag.rsplit(':', 1)[-1]}"
        needs.mkdir(exist_ok=True)
        self.worker = Worker(image, control, Needs(needs), stop=self.remove, kill=self._kill)

    def _accept(self, listener: socket.socket) -> socket.socket:
        """The worker's connection, once its container has started it; Unavailable if the container ends."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        listener.settimeout(1.0)
        while time.monotonic() < deadline:
            try:
                control, _ = listener.accept()
                control.settimeout(None)
                return control
            except TimeoutError:
                self.container.reload()
                if self.container.status not in ("created", "running"):
                    log = self.container.logs().decode(errors="replace").strip().splitlines()
                    raise warm.Unavailable(f"its container ended ({(log or ['no log'])[-1]})") from None
        raise warm.Unavailable("its container's worker did not connect")

    def _kill(self, pid: int) -> None:
        """A stage's process group, by its pid in the container."""
        try:
            self.container.exec_run(
                ["python", "-c", f"import os, signal; os.killpg({int(pid)}, signal.SIGKILL)"], user="0:0"
            )
        except Exception:  # the container is gone already
            pass

    def remove(self) -> None:
        """The container and its folders; its log is kept as a venv worker's is (MODELFERRY_HOME/warm)."""
        if self.container is not None:
            try:
                log = self.container.logs(stdout=True, stderr=True)
                logs = home() / "warm"
                logs.mkdir(parents=True, exist_ok=True)
                (logs / f"warm-{self.image}-docker-{os.getpid()}.log").write_bytes(log)
            except Exception:  # gone already, or nowhere to write: the log is a help, not a result
                pass
            try:
                self.container.remove(force=True)
            except Exception:  # gone already
                pass
        shutil.rmtree(self.control_dir, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def run(self, invocation: Invocation) -> StageRun | None:
        """The stage in a fork of the worker; None when the worker cannot run it (it runs cold)."""
        number = next(self._stages)
        folder, inside, read_only = self.root / str(number), f"{MOUNT}/{number}", f"{READ_ONLY}/{number}"
        stage = f"{invocation.stage}/{invocation.impl}"
        try:
            for name in ("out", "work", "tmp", "in"):
                (folder / name).mkdir(parents=True)
            (folder / "config.json").write_text(json.dumps(invocation.config, sort_keys=True))
            inputs = []
            for index, path in enumerate(invocation.inputs):
                _link_tree(path, folder / "in" / str(index))
                inputs.append(f"{read_only}/in/{index}")
            argv = stage_argv(invocation, Path(f"{read_only}/config.json"), inputs, f"{inside}/out")[2:]
            uid = FIRST_STAGE_UID + number % STAGE_UIDS
            request = {
                "argv": argv,
                "cwd": f"{inside}/work",
                "cores": list(invocation.cores),
                "imports": self.worker.needs.of(stage),
                "env": {
                    **self.env,
                    "HOME": f"{inside}/tmp",
                    "TMPDIR": f"{inside}/tmp",
                    "MODELFERRY_RUNTIME": self.identity,
                    warm.PROCESS: "warm",
                    **thread_environment(invocation.cores),
                },
                "account": {
                    "uid": uid,
                    "gid": uid,
                    "root": inside,
                    "own": [f"{inside}/{name}" for name in ("out", "work", "tmp")],
                    "owner": list(self.owner),
                },
            }
            return self._run(invocation, request, folder, stage)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _run(self, invocation: Invocation, request: dict, folder: Path, stage: str) -> StageRun | None:
        started = time.monotonic()
        child = None
        with tempfile.TemporaryDirectory(prefix=f"modelferry-{invocation.stage}-") as tmp:
            log = Path(tmp) / "stage.log"
            try:
                try:
                    with reaper.tracked(stage, lambda: child and child.kill()):
                        with open(log, "wb") as written:
                            child = self.worker.run(request, written.fileno())
                        code = child.wait(invocation.timeout_s)
                except BaseException:  # interrupted: nothing the stage started outlives it
                    if child is not None:
                        child.kill()
                    raise
                self.worker.learn(stage, child.used)
            except warm.Unavailable as exc:
                self.worker.give_up(str(exc))
                return None
            text = log.read_text(errors="replace") + (f"\nerror: {child.why}\n" if child.why else "")
        if code == 0:
            invocation.out.mkdir(parents=True, exist_ok=True)
            if os.getuid() == 0:  # the bundle's folder too is the stage's user's, as a cold stage's is
                os.chown(invocation.out, *self.owner)
            for made in sorted((folder / "out").iterdir()):
                shutil.move(str(made), str(invocation.out / made.name))
            sandbox.check_output(stage, invocation.out, log_tail=log_tail(text))
            return StageRun(seconds=time.monotonic() - started, log=text)
        if child.oom:
            raise_out_of_memory(invocation, self.runtime.limits.memory, text)
        raise_failure(invocation, code, text)


def _whose() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _gone(host: object, pid: object) -> bool:
    """Whether the process that made a container or a folder has ended: one of this host (by its name: a
    process of another container or machine sharing the engine or the folder is never taken for dead)."""
    return host == socket.gethostname() and str(pid).isdigit() and int(str(pid)) > 0 and not pid_alive(int(str(pid)))


def sweep(client: Any, base: Path) -> None:
    """What a process killed outright (SIGKILL) left: its containers (warm ones and stage ones, which would
    run on to their end) and its warm containers' folders."""
    try:
        for container in client.containers.list(all=True, filters={"label": "modelferry.stage"}):
            if _gone(container.labels.get("modelferry.host"), container.labels.get("modelferry.pid")):
                container.remove(force=True)
    except Exception:  # another process removed it first, or the engine refused: nothing is lost
        pass
    for folder in base.iterdir() if base.is_dir() else ():
        try:
            whose = json.loads((folder / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(whose, dict) and _gone(whose.get("host"), whose.get("pid")):
            shutil.rmtree(folder, ignore_errors=True)


def _mount(source: Path, target: str, read_only: bool):
    from docker.types import Mount

    return Mount(target, str(source), type="bind", read_only=read_only)


class Containers:
    """This process's warm containers, one per runtime, started on a runtime's first stage, or ahead of it for
    the runtimes a run will use (`prepare`, then `warm_up`: their starts and imports go on beside the run's
    first stage)."""

    def __init__(self, runtime: Engine):
        self.runtime = runtime
        self._lock = threading.Lock()
        self._started: dict[str, Future] = {}
        self._pending: set[str] = set()
        self._swept = False  # what killed processes left: looked for once, before this process's first container
        atexit.register(self.stop)

    def prepare(self, image: str) -> None:
        if warm.enabled() and modules(image) is not None:
            with self._lock:
                self._pending.add(image)

    def warm_up(self) -> None:
        with self._lock:
            pending, self._pending = sorted(self._pending), set()
        for image in pending:
            self._start(image)

    def run(self, invocation: Invocation) -> StageRun | None:
        """The stage in its runtime's warm container; None: it runs as a container of its own."""
        if not warm.enabled() or modules(invocation.image) is None:
            return None
        self.warm_up()
        container = self._container(invocation.image)
        if container is None or container.worker.broken:
            return None
        return container.run(invocation)

    def _start(self, image: str) -> Future:
        with self._lock:
            if image not in self._started:
                started: Future = Future()
                self._started[image] = started
                threading.Thread(target=self._make, args=(image, started), daemon=True).start()
            return self._started[image]

    def _make(self, image: str, started: Future) -> None:
        with self._lock:
            swept, self._swept = self._swept, True
        try:
            if not swept:
                sweep(self.runtime.client, home() / "warm-docker")
            started.set_result(Container(self.runtime, image))
        except Exception:  # noqa: BLE001  no container to be had (Unavailable, the engine's refusal): run cold
            started.set_result(None)

    def _container(self, image: str) -> Container | None:
        return self._start(image).result()

    def stop(self) -> None:
        with self._lock:
            started, self._started = list(self._started.values()), {}
        for future in started:
            container = future.result()
            if container is not None:
                container.worker.stop()
