"""Errors the user sees: each names the stage, the file and the cause."""

from __future__ import annotations


class ConversionError(Exception):
    """A conversion failed; `str()` is the one line shown to the user."""

    report_location: str | None = None  # where the failed run's report.json was published, when it started

    def __init__(self, stage: str, cause: str, file: str | None = None, log_tail: str = ""):
        self.stage, self.cause, self.file, self.log_tail = stage, cause, file, log_tail
        where = f" ({file})" if file else ""
        super().__init__(f"[{stage}]{where} {cause}")


class StageFailed(ConversionError):
    """A stage process exited with a permanent failure. `settled`: the stage itself said why (its
    `error:` line, a normal exit), so the same inputs fail the same way again and the failure may be
    cached; not a timeout, a signal or an interrupt. `cached`: this failure was remembered, not run."""

    settled: bool = False
    cached: bool = False


class RuntimeUnavailable(StageFailed):
    """A stage's runtime cannot be made here (a container-only runtime where no Docker engine answers):
    the stages that need it fail with this reason, and the others go on."""


class TransientStageFailure(StageFailed):
    """A stage killed from outside (SIGKILL, by no doing of modelferry: the kernel's out-of-memory killer,
    another process): its inputs did not fail it, so it is worth another try (flows/tasks.py retries it)."""


class StoreError(ConversionError):
    def __init__(self, cause: str, url: str):
        super().__init__("publish", cause, file=url)
