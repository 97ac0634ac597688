"""Starting and stopping the resident engine beside modelferry's Prefect server (flows/server.py)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flows import prefect_env
from flows.resident import protocol

STOP_TIMEOUT_S = 10.0


def _running(folder: Path | None = None) -> int | None:
    try:
        pid = int(json.loads(protocol.state_file(folder).read_text())["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid


def ensure(server_pid: int, api_url: str, applied: dict[str, str]) -> None:
    """An engine for the server at `api_url`, started in the background unless one runs. `applied`: the
    settings this process set itself (a verbose call's), left out of the engine's environment."""
    if os.environ.get("MODELFERRY_RESIDENT") == "off":
        return
    protocol.directory().mkdir(parents=True, exist_ok=True)
    with open(protocol.directory() / ".engine.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # two calls at once start one engine
        if _running() is not None:
            return
        env = {k: v for k, v in os.environ.items() if applied.get(k) != v}
        env.update({**prefect_env.defaults(verbose=False), **prefect_env.prefect_part(env), "PREFECT_API_URL": api_url})
        with open(protocol.log_file(), "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "flows.resident.engine", str(server_pid)],
                env=env,
                cwd=protocol.CODE,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        tmp = protocol.state_file().with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"pid": process.pid}))
        os.replace(tmp, protocol.state_file())


def stop(folder: Path) -> None:
    """End the engine of the server in `folder` (the commands it runs go on, as those run by hand would)."""
    pid = _running(folder)
    protocol.state_file(folder).unlink(missing_ok=True)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:  # our own child, when this process started it
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
