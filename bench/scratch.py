"""What the engine benchmarks share: a fresh MODELFERRY_HOME beside the user's venvs, and the table out."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fresh_home(name: str) -> tuple[Path, dict[str, str]]:
    """A scratch folder whose home/ is an empty MODELFERRY_HOME that shares the runtimes' venvs, and the
    environment for CLI calls there (no PREFECT_* of the caller's: the home's own server is used)."""
    scratch = Path(tempfile.mkdtemp(prefix=f"modelferry-bench-{name}-"))
    shared = Path(os.environ.get("MODELFERRY_HOME") or Path.home() / ".cache" / "modelferry")
    (scratch / "home").mkdir()
    (scratch / "home" / "venvs").symlink_to(shared / "venvs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(MODELFERRY_HOME=str(scratch / "home"), PREFECT_HOME=str(scratch / "prefect-client"))
    return scratch, env


def emit(title: str, lines: list[str], out: Path | None) -> None:
    """Print the table; with --out, write it as markdown under `title`."""
    text = "\n".join(lines)
    print(text)
    if out:
        out.write_text(f"# {title}\n\n{text}\n")
