"""Prefect's temporary local server, made ready before a conversion starts it.

Without PREFECT_API_URL, Prefect starts a temporary server per run and gives it
PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (20 s) to answer. On a fresh
PREFECT_HOME that server first creates its database (every Alembic migration),
which on a slow or busy machine takes longer than that, and the first
`modelferry convert` failed with "Timed out while attempting to connect to
ephemeral Prefect API server". So the database is migrated here, in this
process, with no time limit, before the server is started; the server then
finds it current. (The other half of the cause, an orchestrator venv without
bytecode, is fixed where the venv is made: `uv pip install --compile-bytecode`.)
"""
from __future__ import annotations

import os
from pathlib import Path

# Margin for a loaded machine, not the fix: the slow part (migrations) no longer runs in the server.
STARTUP_TIMEOUT_S = "90"


def _sqlite_file(url: str) -> Path | None:
    """The database file of a sqlite connection URL, None for another database."""
    prefix, sep, path = url.partition(":///")
    return Path(path) if sep and prefix.startswith("sqlite") and path not in ("", ":memory:") else None


def prepare(note) -> None:
    """Migrate the temporary server's database if it is new; `note(text)` tells the user once."""
    if os.environ.get("PREFECT_API_URL"):
        return  # a running server: nothing local to prepare
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", STARTUP_TIMEOUT_S)
    from prefect.settings import get_current_settings

    database = _sqlite_file(get_current_settings().server.database.connection_url.get_secret_value())
    if database is None or database.is_file():
        return
    note(f"first run with PREFECT_HOME={get_current_settings().home}: creating Prefect's local database")
    database.parent.mkdir(parents=True, exist_ok=True)
    import anyio
    from prefect.server.database.alembic_commands import alembic_upgrade
    from prefect.utilities.asyncutils import run_sync_in_worker_thread

    anyio.run(run_sync_in_worker_thread, alembic_upgrade)   # Prefect's own CLI runs it this way
