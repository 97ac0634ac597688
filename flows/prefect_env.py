"""Prefect's settings for a modelferry command, decided before Prefect is imported (it reads them once)."""

from __future__ import annotations

import os

PREFIXES = ("PREFECT_", "DO_NOT_TRACK")  # what Prefect reads when it is imported


def defaults(verbose: bool) -> dict[str, str]:
    """Quiet, local Prefect unless the user configured otherwise; Prefect's tracebacks only with --verbose
    (stage failures are reported by modelferry itself)."""
    return {
        "PREFECT_LOGGING_LEVEL": "INFO" if verbose else "CRITICAL",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    }


applied: dict[str, str] = {}  # what apply() set in this process (the user's environment said nothing)


def apply(verbose: bool) -> None:
    for key, value in defaults(verbose).items():
        if key not in os.environ:
            os.environ[key] = applied[key] = value


def prefect_part(env: dict[str, str]) -> dict[str, str]:
    """The part of an environment Prefect reads when it is imported."""
    return {key: value for key, value in env.items() if key.startswith(PREFIXES)}
