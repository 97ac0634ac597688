"""Every stage process (or container) running for this process, so that an interrupt ends them all.

Stages run in threads (one per branch of the DAG); SIGTERM or Ctrl-C reaches only the main thread.
`stop_all()` kills what runs and refuses what would start after it, so the branches end at once
instead of going on to their next route.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from contextlib import contextmanager
from typing import Callable

from flows.errors import StageFailed

GRACE_S = 5.0

_lock = threading.Lock()
_running: dict[int, Callable[[], None]] = {}
_stopping = False


@contextmanager
def tracked(stage: str, kill: Callable[[], None]):
    """Register `kill` for what a stage runs while the block runs."""
    with _lock:
        if _stopping:
            raise StageFailed(stage, "interrupted before it started")
        token = id(kill)
        _running[token] = kill
    try:
        yield
    finally:
        with _lock:
            _running.pop(token, None)


def stopping() -> bool:
    return _stopping


def stop_all() -> None:
    global _stopping
    with _lock:
        _stopping = True
        kills = list(_running.values())
    for kill in kills:
        try:
            kill()
        except Exception:   # already gone
            pass


def kill_group(process: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """SIGTERM to the process's whole group (a stage's tf2onnx, onnx2tf or node children too), then
    SIGKILL to whatever is left after `grace_s`."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            process.wait(wait)
            if sig == signal.SIGTERM:
                os.killpg(process.pid, signal.SIGKILL)   # the leader is gone; its children may not be
        except subprocess.TimeoutExpired:
            continue
        except (ProcessLookupError, PermissionError):
            pass
        break
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        pass
