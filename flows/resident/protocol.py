"""What the resident engine and its callers agree on: where it listens, and which calls it may run.

Imports the standard library and three small modules of flows (no Prefect, no rich): the caller reads it
before deciding whether to import anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
from pathlib import Path

from flows import prefect_env
from flows.settings import home
from flows.unix_socket import connect_in

CODE = Path(__file__).resolve().parents[2]  # the folder holding flows/ and stages/
MAX_MESSAGE = 1 << 20
STREAMS = 3  # stdin, stdout, stderr
SOCKET = "engine.sock"  # in directory()


def directory() -> Path:
    return home() / "server"


def state_file(folder: Path | None = None) -> Path:
    return (folder or directory()) / "engine.json"


def log_file() -> Path:
    return directory() / "engine.log"


def fingerprint() -> str:
    """The interpreter, its import path and every source file of flows/ and stages/ (path, size, mtime):
    an engine runs a call only when its imports are what the caller's would be."""
    digest = hashlib.sha256()
    digest.update(json.dumps([sys.executable, sys.path[1:]]).encode())
    for entry in sys.path[1:]:
        if entry.endswith("site-packages") and os.path.isdir(entry):
            digest.update(f"{entry}:{os.stat(entry).st_mtime_ns}".encode())  # a package installed or removed
    for root in ("flows", "stages"):
        for folder, folders, files in os.walk(CODE / root):
            folders[:] = sorted(name for name in folders if name != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    stat = os.stat(os.path.join(folder, name))
                    digest.update(f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def verbose(argv: list[str]) -> bool:
    return "-v" in argv or "--verbose" in argv


def prefect_settings(env: dict[str, str], argv: list[str], api_url: str) -> dict[str, str]:
    """The Prefect settings a command with this environment and these arguments would import Prefect with
    (the CLI's defaults where the environment says nothing; the modelferry server's URL without
    PREFECT_API_URL)."""
    settings = {**prefect_env.defaults(verbose(argv)), "PREFECT_API_URL": api_url}
    return prefect_env.prefect_part({**settings, **env})


def settings_files(folder: str) -> bool:
    """Whether Prefect would read settings from files in `folder` (its working folder when imported): the
    engine imported it in modelferry's own folder, which has none."""
    here = Path(folder)
    if (here / ".env").is_file() or (here / "prefect.toml").is_file():
        return True
    try:
        return "tool.prefect" in (here / "pyproject.toml").read_text(errors="replace")
    except OSError:
        return False


def connect(timeout: float) -> socket.socket:
    """A connection to this MODELFERRY_HOME's engine (OSError when none listens)."""
    return connect_in(directory(), SOCKET, timeout)


def send(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def receive(sock: socket.socket) -> dict | None:
    """The next message, or None when the other end closed."""
    data = sock.recv(MAX_MESSAGE)
    return json.loads(data) if data else None
