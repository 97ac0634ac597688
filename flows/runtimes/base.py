"""The runtime interface: make an image's environment, run one stage in it."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from flows import IMAGES_ROOT
from flows.errors import StageFailed, TransientStageFailure
from flows.runtimes import reaper
from flows.runtimes.npm import package_lock_sha256

EXIT_TRANSIENT = 75
LOG_TAIL_LINES = 25


@dataclass
class Invocation:
    stage: str
    impl: str
    image: str
    config: dict
    inputs: list[Path]
    out: Path
    timeout_s: float = 1800.0
    cores: tuple[int, ...] = ()   # the CPU cores the stage may use (flows.budget); () for all


# Thread pools of the frameworks a stage loads, sized to its cores (affinity alone does not tell them).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                    "MXNET_CPU_WORKER_NTHREADS", "UV_THREADPOOL_SIZE")


def thread_environment(cores: tuple[int, ...]) -> dict[str, str]:
    return {name: str(len(cores)) for name in THREAD_VARIABLES} if cores else {}


@dataclass
class StageRun:
    seconds: float
    log: str = field(repr=False, default="")


DEBIAN = "debian.txt"


def debian(image: str) -> tuple[str, list[str]] | None:
    """(suite, packages) of a runtime made of one Debian release's own packages (images/<name>/debian.txt:
    the suite on its first line, then packages), which exists only as a container image; else None."""
    path = IMAGES_ROOT / image / DEBIAN
    if not path.is_file():
        return None
    words = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    words = [w for w in words if w]
    return words[0], words[1:]


PYTHON = "python.txt"
DEFAULT_PYTHON = "3.11"
# the Debian release whose python3 is each version other than the default, for a container image's base
PYTHON_SUITES = {"3.11": "bookworm", "3.13": "trixie"}


def python_version(image: str) -> str:
    """The Python a runtime runs on: images/<name>/python.txt (onnx2tf 2 needs 3.12 or later), else 3.11."""
    path = IMAGES_ROOT / image / PYTHON
    words = [line.split("#")[0].strip() for line in path.read_text().splitlines()] if path.is_file() else []
    return next((w for w in words if w), DEFAULT_PYTHON)


def lock_path(image: str) -> Path:
    path = IMAGES_ROOT / image / "requirements.lock"
    if not path.is_file():
        raise FileNotFoundError(f"runtime image {image!r} has no {path}")
    return path


def lock_sha256(image: str) -> str:
    """What pins the runtime: its lock file, or the Debian release and packages it is made of."""
    if debian(image) is not None:
        return hashlib.sha256((IMAGES_ROOT / image / DEBIAN).read_bytes()).hexdigest()
    return hashlib.sha256(lock_path(image).read_bytes()).hexdigest()


def runtime_sha256(image: str) -> str:
    """What the runtime is made from: the lock, and the Node packages' lock where there is one.

    Without a package-lock.json this is the lock's hash, so existing venvs keep their paths.
    """
    npm = package_lock_sha256(image)
    if npm is None:
        return lock_sha256(image)
    return hashlib.sha256(f"{lock_sha256(image)}\0{npm}".encode()).hexdigest()


class Runtime(Protocol):
    name: str

    def identity(self, image: str) -> str:
        """What the image is: part of every stage's cache key and provenance."""

    def ensure(self, image: str) -> None:
        """Make the image's environment if it is not there yet."""

    def prepare(self, image: str) -> None:
        """Get ready for a run that will start stages in the image (a warm worker)."""

    def warm_up(self) -> None:
        """Start now what prepare() keeps for the run's first stage that is not cached: the run knows one will run."""

    def run(self, invocation: Invocation) -> StageRun:
        """Run a stage; raise StageFailed (or TransientStageFailure on exit 75)."""


def write_config(invocation: Invocation, work: Path) -> Path:
    path = work / "config.json"
    path.write_text(json.dumps(invocation.config, sort_keys=True))
    return path


def stage_argv(invocation: Invocation, config: Path, inputs: list[str], out: str) -> list[str]:
    argv = ["-m", "stages", invocation.stage, invocation.impl, "--config", str(config), "--out", out]
    for path in inputs:
        argv += ["--in", path]
    return argv


def run_process(argv: list[str], invocation: Invocation, env: dict, cwd: Path, log_path: Path,
                exit_status: Callable[[int | None], int | None] | None = None) -> StageRun:
    """Run a stage process in its own process group, on its cores, keeping its log; map its exit code to
    the contract. A timeout or an interrupt ends the whole group, and so does the stage's end: nothing it
    started outlives it. `exit_status` turns the code of a wrapper around the stage (bwrap) into the
    stage's own."""
    if invocation.cores:
        argv = ["taskset", "--cpu-list", ",".join(map(str, invocation.cores)), *argv]
        env = {**env, **thread_environment(invocation.cores)}
    started = time.monotonic()
    stage = f"{invocation.stage}/{invocation.impl}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        with reaper.tracked(stage, lambda: reaper.kill_group(process)):
            try:
                code = process.wait(invocation.timeout_s)
            except subprocess.TimeoutExpired:
                code = None
            reaper.kill_group(process, grace_s=0 if code is not None else reaper.GRACE_S)
    if exit_status is not None:
        code = exit_status(code)
    seconds = time.monotonic() - started
    text = log_path.read_text(errors="replace")
    if code == 0:
        return StageRun(seconds=seconds, log=text)
    raise_failure(invocation, code, text)


# Start-up chatter of TensorFlow's C++ side, in every TF stage's log: no help in a failure's tail.
LOG_NOISE = ("oneDNN custom operations are on", "All log messages before absl::InitializeLog()")


GLOG_FATAL = re.compile(r"^F\d{4} [\d:.]+\s+\d+ (\S+\] .*)")


def raise_failure(invocation: Invocation, code: int | None, log: str) -> None:
    lines = [line for line in log.splitlines() if line.strip() and not any(n in line for n in LOG_NOISE)]
    # The tail is there for context: leave out the reason line the user already sees.
    tail = "\n".join(line for line in lines[-LOG_TAIL_LINES:] if not line.startswith("error: "))
    stage = f"{invocation.stage}/{invocation.impl}"
    if code is None:
        raise StageFailed(stage, f"timed out after {invocation.timeout_s:.0f}s", log_tail=tail)
    reasons = [line[len("error: "):] for line in lines if line.startswith("error: ")]
    died = f"crashed (signal {-code}); see the log tail" if code < 0 else f"exited with code {code}"
    if code > 128 and not reasons:   # a container's process killed by a signal
        died = f"crashed (signal {code - 128}); see the log tail"
    fatal = [match[1] for line in lines if (match := GLOG_FATAL.match(line))]
    if fatal:   # a C++ framework's CHECK failure (Caffe, MXNet: glog) aborts without an `error:` line
        died = f"{died.split(';')[0]}: {fatal[-1]}"
    reason = reasons[-1] if reasons else died
    error = TransientStageFailure if code == EXIT_TRANSIENT else StageFailed
    failure = error(stage, reason, log_tail=tail)
    failure.settled = error is StageFailed and code > 0 and bool(reasons)
    raise failure
