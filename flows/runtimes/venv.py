"""The venv runtime: one virtualenv per lock file, made by uv, cached by the lock's hash.

The fallback where no Docker engine answers: same stage contract, same
pinned packages; each stage process runs inside bubblewrap (flows/runtimes/sandbox.py:
its inputs read-only, only its output and work directories and a private /tmp
writable, no network), unless MODELFERRY_SANDBOX=off.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from flows import STAGES_ROOT
from flows.errors import RuntimeUnavailable, StageFailed
from flows.pins.locks import DEFAULT_PYTHON, debian, lock_path, python_version, runtime_sha256
from flows.pins.npm import node_binary, npm_ci, package_lock
from flows.pins.uv import uv_binary, uv_env
from flows.runtimes import reaper, sandbox, warm
from flows.runtimes.base import (
    Invocation,
    StageRun,
    log_tail,
    raise_failure,
    run_process,
    stage_argv,
    thread_environment,
    write_config,
)
from flows.runtimes.warm.placeholder import Placeholder
from flows.runtimes.warm.pool import POOL
from flows.runtimes.warm.worker import WORKER_ENVIRONMENT, Worker
from flows.settings import home

COMPLETE = ".modelferry-complete"
NODE_DIR = "node"  # inside the venv: package.json, package-lock.json, node_modules/
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# Bump when the way venvs are made changes (not what is in them): new directories.
LAYOUT = "b"


def interpreter(image: str) -> str:
    """The Python a runtime's venv is made from: 3.11 as uv finds it, another version (images/<name>/
    python.txt) on PATH or among pyenv's installed versions (pyenv's shims answer only for the version
    pyenv has selected)."""
    version = python_version(image)
    if version == DEFAULT_PYTHON:
        return version
    roots = [Path(os.environ["PYENV_ROOT"])] if os.environ.get("PYENV_ROOT") else []
    roots.append(Path.home() / ".pyenv")
    candidates = [shutil.which(f"python{version}")]
    candidates += [
        str(p) for root in roots for p in sorted((root / "versions").glob(f"{version}.*/bin/python{version}"))
    ]
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    raise RuntimeUnavailable(
        f"ensure/{image}",
        f"the {image} runtime runs on Python {version}, which this machine "
        f"does not have (not on PATH, not among pyenv's versions): install it, or use "
        f"--runtime docker",
    )


class VenvRuntime:
    name = "venv"

    def __init__(self, root: Path | None = None):
        self.root = root or home() / "venvs"
        self._pending: set[str] = set()  # the runtimes a run will start stages in (prepare)
        self._pending_lock = threading.Lock()

    def identity(self, image: str) -> str:
        return f"venv:{image}:{runtime_sha256(image)[:16]}"

    def path(self, image: str) -> Path:
        # The real path, not one through a symlink (a test's home links the shared venvs): the venv's
        # console scripts (onnxsim, which onnx2tf runs; tensorflowjs_converter) name their Python by it.
        return self.root.resolve() / f"{image}-{runtime_sha256(image)[:16]}{LAYOUT}"

    def python(self, image: str) -> Path:
        return self.path(image) / "bin" / "python"

    def ensure(self, image: str) -> None:
        made_of = debian(image)
        if made_of is not None:
            raise RuntimeUnavailable(
                f"ensure/{image}",
                f"the {image} runtime is Debian {made_of[0]}'s own "
                f"{', '.join(made_of[1])} (no wheel of it exists), so it runs only as a "
                f"container image: start a Docker engine (infra/docker-engine.sh) and "
                f"use --runtime docker or auto",
            )
        venv = self.path(image)
        if (venv / COMPLETE).exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f".{image}.lock", "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)  # two runs must not build one venv at once
            if (venv / COMPLETE).exists():
                return
            shutil.rmtree(venv, ignore_errors=True)
            uv = uv_binary()
            print(f"making the {image} runtime (venv from {lock_path(image).name}, once per lock)", file=sys.stderr)
            subprocess.run([uv, "venv", "-q", "--python", interpreter(image), str(venv)], check=True, env=uv_env())
            # Compile bytecode now: stages run with PYTHONDONTWRITEBYTECODE, and without .pyc
            # files every stage start would compile TensorFlow or MXNet from source again.
            subprocess.run(
                [
                    uv,
                    "pip",
                    "sync",
                    "-q",
                    "--compile-bytecode",
                    "--python",
                    str(venv / "bin" / "python"),
                    "--require-hashes",
                    str(lock_path(image)),
                ],
                check=True,
                env=uv_env(),
            )
            if package_lock(image):
                node_binary()  # fail now, not in the first stage, when there is no node
                npm_ci(image, venv / NODE_DIR)
            (venv / COMPLETE).touch()

    def environment(self, image: str) -> dict[str, str]:
        keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")
        env = {key: os.environ[key] for key in keep if key in os.environ}
        env.update(
            PATH=self._path(image),
            PYTHONPATH=str(STAGES_ROOT),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
            TF_CPP_MIN_LOG_LEVEL="2",
            MXNET_SUBGRAPH_VERBOSE="0",
            VIRTUAL_ENV=str(self.path(image)),
            MODELFERRY_RUNTIME=self.identity(image),
        )
        if package_lock(image):
            env.update(self._node_environment(image))
        return env

    def _node_environment(self, image: str) -> dict[str, str]:
        """Node finds the runtime's own packages, and `node` is on PATH wherever the host keeps it."""
        node_dir = str(node_binary().parent)
        path = self._path(image)
        if node_dir not in SYSTEM_PATH.split(os.pathsep):
            path += f"{os.pathsep}{node_dir}"
        return {"PATH": path, "NODE_PATH": str(self.path(image) / NODE_DIR / "node_modules")}

    def _path(self, image: str) -> str:
        return f"{self.path(image) / 'bin'}{os.pathsep}{SYSTEM_PATH}"

    def containment(self) -> str:
        """What the stages run under, for the report: "bubblewrap", or "none (MODELFERRY_SANDBOX=off)"."""
        return "bubblewrap" if sandbox.enabled() else f"none ({sandbox.SWITCH}=off)"

    def run(self, invocation: Invocation) -> StageRun:
        stage = f"{invocation.stage}/{invocation.impl}"
        contained = sandbox.enabled()
        try:
            self.ensure(invocation.image)
            bwrap = sandbox.bwrap_binary() if contained else None
        except RuntimeUnavailable as exc:  # named after the stage that needed the runtime
            raise RuntimeUnavailable(stage, exc.cause) from None
        with tempfile.TemporaryDirectory(prefix=f"modelferry-{invocation.stage}-") as tmp:
            # The log lies beside the work dir, not in it: the stage may write in its work dir, and a
            # link it left there as stage.log would make the host read any file into the failure.
            work, log = Path(tmp) / "work", Path(tmp) / "stage.log"
            work.mkdir()
            config = write_config(invocation, work)
            args = stage_argv(invocation, config, [str(p) for p in invocation.inputs], str(invocation.out))
            env = self.environment(invocation.image)
            if contained:
                invocation.out.mkdir(parents=True, exist_ok=True)  # bwrap binds only what exists
            run = self._warm(invocation, args, env, work, log, bwrap)
            if run is None:
                run = self._cold(invocation, [str(self.python(invocation.image)), *args], env, work, log, bwrap)
        if contained:
            sandbox.check_output(stage, invocation.out, log_tail=log_tail(run.log))
        return run

    def _cold(
        self, invocation: Invocation, argv: list[str], env: dict, work: Path, log: Path, bwrap: str | None
    ) -> StageRun:
        """A process of its own, which imports its framework; under bubblewrap unless the sandbox is off."""
        if bwrap is None:
            return run_process(argv, invocation, env, work, log)
        argv = sandbox.argv(
            argv,
            venv=self.path(invocation.image),
            inputs=list(invocation.inputs),
            out=invocation.out,
            work=work,
            read_only=self._read_only(invocation.image),
            bwrap=bwrap,
        )
        try:
            return run_process(
                argv, invocation, {**env, **sandbox.ENVIRONMENT}, work, log, exit_status=sandbox.exit_code
            )
        except StageFailed as exc:
            reason = sandbox.setup_failure(log.read_text(errors="replace"))
            if reason is None:
                raise
            raise RuntimeUnavailable(
                f"{invocation.stage}/{invocation.impl}",
                f"bubblewrap could not make its sandbox ({reason}); set {sandbox.SWITCH}=off to run stages uncontained",
                log_tail=exc.log_tail,
            ) from None

    def prepare(self, image: str) -> None:
        """A run will start stages of this runtime: its warm worker is started when the run's first stage that
        is not cached starts (its imports go on beside that stage), not at all when none is; a runtime not made
        yet has none (ensure makes it)."""
        if debian(image) is None and (self.path(image) / COMPLETE).exists():
            with self._pending_lock:
                self._pending.add(image)

    def warm_up(self) -> None:
        self._start_pending()

    def _start_pending(self) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, set()
        for image in sorted(pending):
            self._worker(image)

    def _worker(self, image: str) -> Worker | None:
        env = {**self.environment(image), **WORKER_ENVIRONMENT}
        return POOL.worker(image, self.python(image), env, home() / "warm")

    def _warm(
        self, invocation: Invocation, args: list[str], env: dict, work: Path, log: Path, bwrap: str | None
    ) -> StageRun | None:
        """A fork of the runtime's warm worker (flows/runtimes/warm/), in a sandbox with the stage's own
        mounts; None when there is no worker to be had, and the stage runs cold."""
        image = invocation.image
        self._start_pending()
        worker = self._worker(image)
        if worker is None:
            return None
        stage = f"{invocation.stage}/{invocation.impl}"
        request: dict[str, object] = {
            "argv": args[2:],
            "cwd": str(work),
            "cores": list(invocation.cores),
            "imports": worker.needs.of(stage),
            "env": {
                **env,
                **(sandbox.ENVIRONMENT if bwrap else {}),
                **thread_environment(invocation.cores),
                warm.PROCESS: "warm",
            },
        }
        started = time.monotonic()
        placeholder = None
        try:
            if bwrap is not None:
                placeholder = Placeholder(
                    bwrap, self.path(image), list(invocation.inputs), invocation.out, work, self._read_only(image), env
                )
                request["sandbox"] = placeholder.pid
            child = None
            try:
                with reaper.tracked(stage, lambda: child and child.kill()):
                    with open(log, "wb") as written:
                        child = worker.run(request, written.fileno())
                    code = child.wait(invocation.timeout_s)
            except BaseException:  # interrupted: nothing the stage started outlives it, sandbox or not
                if child is not None:
                    child.kill()
                raise
            worker.learn(stage, child.used)
        except warm.Unavailable as exc:  # this worker runs no more stages; this one runs cold
            worker.give_up(str(exc))
            if invocation.out.is_dir():  # from an empty output, whatever a child that said so left in it
                shutil.rmtree(invocation.out)
                invocation.out.mkdir()
            return None
        finally:
            if placeholder is not None:
                placeholder.stop()
        text = log.read_text(errors="replace")
        if code == 0:
            return StageRun(seconds=time.monotonic() - started, log=text)
        raise_failure(invocation, code, text)

    def _read_only(self, image: str) -> list[Path]:
        """What a stage reads besides its venv and interpreter: the `stages` package (alone of the
        repository: PYTHONPATH is its parent) and, for a Node.js runtime, the folder of `node`."""
        folders = [STAGES_ROOT / "stages"]
        if package_lock(image):
            folders.append(node_binary().parent)
        return folders

    def exec(self, image: str, argv: list[str], writable: Sequence[Path] = ()) -> int:
        """Run any command inside the runtime (e.g. the example builder)."""
        # Not sandboxed: `runtime exec` runs the project's own scripts (example and test-model builders),
        # which read and write where their caller says; models from outside go through stages.
        self.ensure(image)
        env = {**os.environ, **self.environment(image)}
        return subprocess.run(argv, env=env).returncode
