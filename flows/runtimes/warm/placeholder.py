"""The sandbox a warm stage enters: bubblewrap with the stage's own mounts, around a process that waits.

bwrap makes the namespaces and the root a cold stage would run in (flows/runtimes/sandbox.py) and names,
on its --info-fd, the pid of the process inside; a worker's child joins them (stages/warm/enter.py). bwrap
names that pid before it has made the mounts: the placeholder says "ready" from inside once they are there,
and only then is the sandbox handed on.
Stopping the placeholder ends its PID namespace, and with it every process that joined it.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

from flows.runtimes import reaper, sandbox
from flows.runtimes.warm import Unavailable

START_TIMEOUT_S = 30.0
READY = "ready"


def _read(fd: int, until_eof: bool) -> bytes:
    """What comes on `fd` within the time limit: up to its end, or its first line."""
    data, deadline = b"", time.monotonic() + START_TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0 and select.select([fd], [], [], left)[0]:
        chunk = os.read(fd, 4096)
        data += chunk
        if not chunk or (not until_eof and b"\n" in data):
            break
    return data


def _json(data: bytes) -> dict:
    try:
        return json.loads(data) if data else {}
    except ValueError:
        return {}


class Placeholder:
    def __init__(
        self,
        bwrap: str,
        venv: Path,
        inputs: list[Path],
        out: Path,
        work: Path,
        read_only: list[Path],
        env: dict[str, str],
    ):
        shell = shutil.which("sh", path="/usr/bin:/bin") or "/bin/sh"
        readable, writable = os.pipe()
        try:
            argv = sandbox.argv(
                [shell, "-c", f"echo {READY}; exec sleep infinity"],
                venv=venv,
                inputs=inputs,
                out=out,
                work=work,
                read_only=read_only,
                bwrap=bwrap,
                info_fd=writable,
            )
            self.process = subprocess.Popen(
                argv,
                env=env,
                cwd=work,
                pass_fds=[writable],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            os.close(writable)
        try:
            info = _json(_read(readable, until_eof=True))
        finally:
            os.close(readable)
        stdout = self.process.stdout
        assert stdout is not None  # opened as a pipe above
        ready = _read(stdout.fileno(), until_eof=False)
        stdout.close()
        if "child-pid" not in info or ready.strip() != READY.encode():
            self.stop()
            raise Unavailable("bubblewrap made no sandbox")
        self.pid = int(info["child-pid"])

    def stop(self) -> None:
        """bwrap's group ended at once; its init dies with it (--die-with-parent), and the namespace with that."""
        reaper.kill_group(self.process, grace_s=0)
