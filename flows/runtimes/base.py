"""The runtime interface: make an image's environment, run one stage in it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NoReturn, Protocol

from flows.errors import StageFailed, TransientStageFailure
from flows.runtimes import reaper

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
    cores: tuple[int, ...] = ()  # the CPU cores the stage may use (flows.budget); () for all
    idle: bool = False  # at the lowest CPU priority (stages/impl.py: Impl.idle)


# Thread pools of the frameworks a stage loads, sized to its cores (affinity alone does not tell them).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "MXNET_CPU_WORKER_NTHREADS",
    "UV_THREADPOOL_SIZE",
)


def thread_environment(cores: tuple[int, ...]) -> dict[str, str]:
    return {name: str(len(cores)) for name in THREAD_VARIABLES} if cores else {}


@dataclass
class StageRun:
    seconds: float
    log: str = field(repr=False, default="")


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
        """Run a stage; raise StageFailed (TransientStageFailure where it was killed from outside)."""

    def exec(self, image: str, argv: list[str], writable: Sequence[Path] = ()) -> int:
        """Run a command in the runtime (`modelferry runtime exec`: the project's own helper scripts)."""


def write_config(invocation: Invocation, work: Path) -> Path:
    path = work / "config.json"
    path.write_text(json.dumps(invocation.config, sort_keys=True))
    return path


def stage_argv(invocation: Invocation, config: Path, inputs: list[str], out: str) -> list[str]:
    argv = ["-m", "stages", invocation.stage, invocation.impl, "--config", str(config), "--out", out]
    if invocation.idle:
        argv.append("--idle")
    for path in inputs:
        argv += ["--in", path]
    return argv


def run_process(
    argv: list[str],
    invocation: Invocation,
    env: dict,
    cwd: Path,
    log_path: Path,
    exit_status: Callable[[int | None], int | None] | None = None,
) -> StageRun:
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
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
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


def log_tail(log: str) -> str:
    """A stage log's last lines, as a failure shows them."""
    return "\n".join(log.splitlines()[-LOG_TAIL_LINES:])


def raise_out_of_memory(invocation: Invocation, memory: object, log: str) -> NoReturn:
    """A stage its container's memory limit killed (the docker runtime's, cold or warm)."""
    raise StageFailed(
        f"{invocation.stage}/{invocation.impl}",
        f"exceeded its memory limit of {memory} and was killed; raise it with --stage-memory",
        log_tail=log_tail(log),
    )


def raise_failure(invocation: Invocation, code: int | None, log: str) -> NoReturn:
    lines = [line for line in log.splitlines() if line.strip() and not any(n in line for n in LOG_NOISE)]
    # The tail is there for context: leave out the reason line the user already sees.
    tail = "\n".join(line for line in lines[-LOG_TAIL_LINES:] if not line.startswith("error: "))
    stage = f"{invocation.stage}/{invocation.impl}"
    if code is None:
        raise StageFailed(stage, f"timed out after {invocation.timeout_s:.0f}s", log_tail=tail)
    reasons = [line[len("error: ") :] for line in lines if line.startswith("error: ")]
    died = f"crashed (signal {-code}); see the log tail" if code < 0 else f"exited with code {code}"
    if code > 128 and not reasons:  # a container's process killed by a signal
        died = f"crashed (signal {code - 128}); see the log tail"
    fatal = [match[1] for line in lines if (match := GLOG_FATAL.match(line))]
    if fatal:  # a C++ framework's CHECK failure (Caffe, MXNet: glog) aborts without an `error:` line
        died = f"{died.split(';')[0]}: {fatal[-1]}"
    reason = reasons[-1] if reasons else died
    if killed(code) and not reasons:  # modelferry's own kills (a timeout, an interrupt) never reach here
        raise TransientStageFailure(
            stage,
            "killed (SIGKILL) from outside the stage: the machine ran out of memory, or another process killed it",
            log_tail=tail,
        )
    failure = StageFailed(stage, reason, log_tail=tail)
    failure.settled = code > 0 and bool(reasons)
    raise failure


def killed(code: int) -> bool:
    """Whether a stage's exit code says SIGKILL ended it: -9 for a process, 137 for a container's."""
    return code in (-signal.SIGKILL, 128 + signal.SIGKILL)
