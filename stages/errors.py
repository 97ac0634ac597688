"""Errors a stage reports to the orchestrator through its exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1


class StageError(Exception):
    """A permanent failure; its message is the one line the user sees."""

    exit_code = EXIT_FAILED
