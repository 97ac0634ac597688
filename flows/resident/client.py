"""The caller's side: hand a command to the resident engine, or say it must run here (None)."""

from __future__ import annotations

import os
import signal
import sys

from flows.resident import protocol

CONNECT_TIMEOUT_S = 2.0
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
IN_PROCESS = ("server",)  # commands that manage the server and the engine themselves


def hand_off(argv: list[str]) -> int | None:
    """The command's exit code when the engine ran it; None when it must run in this process."""
    if os.environ.get("MODELFERRY_RESIDENT") == "off" or not argv or argv[0] in IN_PROCESS:
        return None
    try:
        os.fstat(0), os.fstat(1), os.fstat(2)
        if protocol.settings_files(os.getcwd()):
            return None
        conn = protocol.connect(CONNECT_TIMEOUT_S)
    except OSError:
        return None
    with conn:
        try:
            protocol.send(
                conn,
                {
                    "argv": [sys.argv[0], *argv],
                    "cwd": os.getcwd(),
                    "env": dict(os.environ),
                    "fingerprint": protocol.fingerprint(),
                },
                [0, 1, 2],
            )
            reply = protocol.receive(conn)
        except (OSError, ValueError):
            return None
        if not reply or "pid" not in reply:
            return None  # refused, or the engine ended: nothing ran
        return _wait(conn, reply["pid"])


def _wait(conn, pid: int) -> int:
    """The command runs: pass the caller's signals on to it, and return its exit code."""

    def forward(number, _frame):
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass

    for number in FORWARDED:
        signal.signal(number, forward)
    try:
        reply = protocol.receive(conn)
    except (OSError, ValueError):
        reply = None
    if not reply or "code" not in reply:
        print("error: the resident engine ended while it ran this command", file=sys.stderr)
        return 1
    code = reply["code"]
    return 128 - code if code < 0 else code  # killed by a signal: the shell's convention
