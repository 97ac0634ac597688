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
_running: set[Callable[[], None]] = set()
_stopping = False


@contextmanager
def tracked(stage: str, kill: Callable[[], None]):
    """Register `kill` for what a stage runs while the block runs; a stage that was running when
    everything was stopped ends as interrupted, whatever its process said."""
    with _lock:
        if _stopping:
            raise StageFailed(stage, "interrupted before it started")
        _running.add(kill)
    try:
        yield
    finally:
        with _lock:
            _running.discard(kill)
    if _stopping:
        raise StageFailed(stage, "interrupted")


def stopping() -> bool:
    """Whether everything was stopped (SIGTERM, Ctrl-C): nothing more begins."""
    return _stopping


def stop_all() -> None:
    global _stopping
    with _lock:
        _stopping = True
        kills = list(_running)
    for kill in kills:
        try:
            kill()
        except Exception:  # already gone
            pass


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):  # the group is gone already
        pass


def _wait(process: subprocess.Popen, seconds: float) -> None:
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        pass


def kill_group(process: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """SIGTERM to the process's whole group (a stage's tf2onnx, onnx2tf or node children too), then
    SIGKILL to whatever is left after `grace_s` (0: at once), and the leader reaped: the leader may be gone
    while its children are not."""
    _signal_group(process, signal.SIGTERM)
    _wait(process, grace_s)
    _signal_group(process, signal.SIGKILL)
    _wait(process, GRACE_S)
