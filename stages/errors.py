"""Errors a stage reports to the orchestrator through its exit code."""
from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_TRANSIENT = 75  # EX_TEMPFAIL: the orchestrator retries


class StageError(Exception):
    """A permanent failure; its message is the one line the user sees."""

    exit_code = EXIT_FAILED


class TransientStageError(StageError):
    """A failure worth retrying (resource exhaustion, a flaky filesystem)."""

    exit_code = EXIT_TRANSIENT
