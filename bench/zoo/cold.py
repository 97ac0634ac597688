"""What the zoo benches share: one `modelferry convert` of a model as a whole process on a cold bundle cache
(the runtimes' venvs shared), timed from start to exit, and its first artifact from the run's report; and
a markdown table printed and written."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from flows.runtimes.venv import VenvRuntime

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".venv" / "bin" / "modelferry"


def run(
    source: Path, args: list[str], scratch: Path, env: dict[str, str] | None = None
) -> tuple[float, dict | None, str]:
    """(seconds, the run's report or None, the CLI's stderr); `env`: more environment for the CLI."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=scratch))
    (home / "venvs").symlink_to(VenvRuntime().root)
    out = home / "out"
    start = time.perf_counter()
    done = subprocess.run(
        [str(CLI), "convert", str(source), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {}), "MODELFERRY_HOME": str(home)},
    )
    seconds = time.perf_counter() - start
    reports = sorted(out.glob("*/*/report.json"))
    return seconds, json.loads(reports[-1].read_text()) if reports else None, done.stderr


def convert(source: Path, args: list[str], scratch: Path) -> tuple[float, dict]:
    """(seconds, the report's first artifact, else {"reason": the CLI's last line})."""
    seconds, report, stderr = run(source, args, scratch)
    made = report["artifacts"] if report else []
    return seconds, made[0] if made else {"reason": (stderr.strip().splitlines() or ["no report"])[-1]}


def finish(lines: list[str], out: Path | None) -> int:
    text = "\n".join(lines) + "\n"
    if out:
        out.write_text(text)
    print(text)
    return 0
