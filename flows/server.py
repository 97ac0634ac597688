"""modelferry's own long-running Prefect server: started once, used by every CLI call after it.

Without PREFECT_API_URL, Prefect starts a temporary server inside every process that runs a flow
(10-20 s, and the database migrations on a fresh PREFECT_HOME). `modelferry server start` runs one
`prefect server start` on 127.0.0.1 in the background instead, with its own PREFECT_HOME under
MODELFERRY_HOME/server, and writes where it answers to server.json; `convert` finds it there.

This module imports no Prefect: it runs before Prefect reads its settings (PREFECT_API_URL must be
in the environment by then).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from flows.settings import home

DEFAULT_PORT = 4200
START_TIMEOUT_S = 180.0  # the first start migrates a fresh database: ~30 s here, more on a loaded machine
STOP_TIMEOUT_S = 20.0


class ServerError(RuntimeError):
    pass


@dataclass(frozen=True)
class ServerState:
    pid: int
    port: int
    started_at: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def directory() -> Path:
    return home() / "server"


def _state_file(where: Path | None = None) -> Path:
    return (where or directory()) / "server.json"


def log_file() -> Path:
    return directory() / "server.log"


def answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine with that pid runs (one of another user's counts too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(where: Path | None = None) -> ServerState | None:
    try:
        return ServerState(**json.loads(_state_file(where).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write(state: ServerState) -> None:
    tmp = _state_file().with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(state)))
    os.replace(tmp, _state_file())


def status(where: Path | None = None) -> ServerState | None:
    """The running server (of `where`, default this MODELFERRY_HOME's), or None; a state file whose
    process is gone is removed."""
    state = _read(where)
    if state is None:
        return None
    if not pid_alive(state.pid):
        _state_file(where).unlink(missing_ok=True)
        return None
    return state


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(port: int) -> dict[str, str]:
    """The server's own Prefect home and settings; nothing of the caller's PREFECT_* leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    prefect_home = directory() / "prefect"
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{prefect_home}/prefect.db",
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL=os.environ.get("PREFECT_SERVER_LOGGING_LEVEL", "WARNING"),
        PREFECT_UI_API_URL=f"http://127.0.0.1:{port}/api",
        DO_NOT_TRACK="1",
    )
    return env


def start(port: int | None = None, note=lambda text: None) -> ServerState:
    """The running server, or a new one started in the background; returns once it answers."""
    directory().mkdir(parents=True, exist_ok=True)
    with open(directory() / ".start.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # two CLI calls at once start one server
        state = status()
        if state is not None:
            if port is not None and port != state.port:
                raise ServerError(
                    f"a modelferry server already runs on port {state.port} (pid {state.pid}); "
                    f"stop it first to start one on {port}"
                )
            _resident(state)  # one that ended (its code changed) is started again
            return state
        if port is None:
            port = DEFAULT_PORT if _port_free(DEFAULT_PORT) else _free_port()
        elif not _port_free(port):
            raise ServerError(f"port {port} on 127.0.0.1 is in use; choose another with --port")
        prefect = Path(sys.executable).parent / "prefect"
        (directory() / "prefect").mkdir(exist_ok=True)
        note(f"starting a Prefect server on 127.0.0.1:{port} (log: {log_file()}); `modelferry server stop` stops it")
        with open(log_file(), "ab") as log:
            process = subprocess.Popen(
                [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                env=server_environment(port),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=directory(),
            )
        state = ServerState(pid=process.pid, port=port, started_at=time.time())
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers(state.url):
            if process.poll() is not None:
                raise ServerError(
                    f"the Prefect server exited with code {process.returncode} before it answered; see {log_file()}"
                )
            if time.monotonic() > deadline:
                _kill_group(process.pid)
                raise ServerError(f"the Prefect server did not answer within {START_TIMEOUT_S:.0f}s; see {log_file()}")
            time.sleep(0.5)
        _write(state)
        _resident(state)
        return state


def _resident(state: ServerState) -> None:
    """The resident engine beside the server (flows/resident/): started in the background."""
    from flows import prefect_env
    from flows.resident import lifecycle

    lifecycle.ensure(state.pid, state.url, prefect_env.applied)


def _kill_group(pid: int) -> None:
    """SIGTERM to the server's process group (uvicorn and its services), SIGKILL if it lingers."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        _reap(pid)
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)  # our own child, when this process started it
    except ChildProcessError:
        pass


def stop(where: Path | None = None) -> ServerState | None:
    """Stop the running server; the state it had, or None when none ran."""
    state = status(where)
    if state is None:
        return None
    from flows.resident import lifecycle

    lifecycle.stop(where or directory())
    _kill_group(state.pid)
    _state_file(where).unlink(missing_ok=True)
    return state


@contextmanager
def session(note=lambda text: None):
    """`use()` for a script: a server this started is stopped when the block ends."""
    had, where = os.environ.get("PREFECT_API_URL") or status(), directory()  # the script may move MODELFERRY_HOME
    url = use(note)
    try:
        yield url
    finally:
        if not had:
            stop(where)
            os.environ.pop("PREFECT_API_URL", None)


def use(note=lambda text: None) -> str:
    """Point this process's Prefect at a server: PREFECT_API_URL when set, else the running modelferry
    server, else one started now (it keeps running after this call). Returns the API URL."""
    given = os.environ.get("PREFECT_API_URL")
    if given:
        if not answers(given.rstrip("/"), timeout=10):
            raise ServerError(
                f"PREFECT_API_URL={given} does not answer; start that server, or unset "
                f"PREFECT_API_URL to use modelferry's own"
            )
        return given
    state = status()
    if state is not None:
        _resident(state)  # one that ended (its code changed) is started again, for the next call
    else:
        state = start(note=note)
    deadline = time.monotonic() + 30  # a server started a moment ago by another call
    while not answers(state.url):
        if time.monotonic() > deadline:
            raise ServerError(
                f"the modelferry Prefect server (pid {state.pid}, {state.url}) does not answer; "
                f"see {log_file()}, or restart it: modelferry server stop && modelferry server start"
            )
        time.sleep(0.5)
    os.environ["PREFECT_API_URL"] = state.url
    return state.url
