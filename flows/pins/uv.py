"""uv, the installer of every runtime's Python packages, set up as pip is on this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def uv_binary() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if not found:
            raise RuntimeError("uv is not installed: pip install uv") from None
        return found


def pip_find_links() -> str:
    """The local wheel folders pip is configured to search (where a CPU build of torch lies)."""
    if "PIP_FIND_LINKS" in os.environ:  # pip's own variable is space-separated
        return ",".join(os.environ["PIP_FIND_LINKS"].split())
    done = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    folders = []
    for line in done.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.endswith("find-links"):
            folders += [f for f in value.strip().strip("'\"").split() if f not in folders]
    return ",".join(folders)  # uv reads UV_FIND_LINKS as a comma-separated list


def uv_env() -> dict[str, str]:
    """uv as pip is set up here: the system's CA store (PyPI may sit behind a TLS proxy whose CA
    is only there) and pip's local wheel folders, which uv does not read from pip's config."""
    env = {**os.environ, "UV_NATIVE_TLS": os.environ.get("UV_NATIVE_TLS", "true")}
    links = os.environ.get("UV_FIND_LINKS") or pip_find_links()
    if links:
        env["UV_FIND_LINKS"] = links
    return env
