"""Where modelferry keeps its caches on this machine."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """MODELFERRY_HOME, else ~/.cache/modelferry: venvs and cached bundles live here."""
    return Path(os.environ.get("MODELFERRY_HOME") or Path.home() / ".cache" / "modelferry")
