"""The stage contract as the orchestrator reads it: exit codes, reasons, log tails, timeouts."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from flows.errors import StageFailed, TransientStageFailure
from flows.runtimes.base import Invocation, run_process
from flows.tasks import _transient_only


def stage_process(tmp_path: Path, code: str, timeout_s: float = 60):
    invocation = Invocation("load", "mxnet", "mxnet", {}, [], tmp_path, timeout_s=timeout_s)
    argv = [sys.executable, "-c", code]
    return run_process(argv, invocation, {"PATH": "/usr/bin:/bin"}, tmp_path, tmp_path / "stage.log")


def test_a_stage_killed_from_outside_is_transient(tmp_path):
    """SIGKILL from outside (here the stage's own, as the OOM killer's would be): transient, and the task's retry
    condition takes it (tests/test_engine.py sees Prefect retry one); exit 75 is no longer special."""
    with pytest.raises(TransientStageFailure) as caught:
        stage_process(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert caught.value.stage == "load/mxnet"
    assert caught.value.cause.startswith("killed (SIGKILL) from outside the stage")
    assert _transient_only(None, None, SimpleNamespace(data=caught.value))
    with pytest.raises(StageFailed) as caught:
        stage_process(tmp_path, "import sys; print('error: scratch disk busy', file=sys.stderr); sys.exit(75)")
    assert not isinstance(caught.value, TransientStageFailure) and caught.value.cause == "scratch disk busy"


def test_other_exit_codes_are_permanent_with_reason_and_tail(tmp_path):
    code = (
        "import sys\nfor i in range(40): print('line', i)\n"
        "print('error: model-0000.params cannot be read', file=sys.stderr); sys.exit(1)"
    )
    with pytest.raises(StageFailed) as caught:
        stage_process(tmp_path, code)
    assert not isinstance(caught.value, TransientStageFailure)
    assert str(caught.value) == "[load/mxnet] model-0000.params cannot be read"
    assert "line 39" in caught.value.log_tail and "line 0\n" not in caught.value.log_tail
    assert "error:" not in caught.value.log_tail

    assert not _transient_only(None, None, SimpleNamespace(data=caught.value))


def test_a_stage_over_its_time_limit_is_stopped(tmp_path):
    with pytest.raises(StageFailed, match=r"timed out after 1s"):
        stage_process(tmp_path, "import time; time.sleep(30)", timeout_s=1)
