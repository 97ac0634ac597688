"""Shared by the bare-converter scripts: time one call, print one JSON line, clean up.

Each script in bench/bare/ runs inside a stage runtime (`modelferry runtime exec <image> --
python bench/bare/<hop>.py …`), does its imports and model loading first, then times only
the conversion call and prints {"seconds": …, "converter": …} as its last stdout line.
Outputs go to a temporary directory that is removed afterwards: only the time matters.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="modelferry-bare-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def run_cli(argv: list[str], what: str) -> float:
    """Wall time of a converter's command line (its own start-up and imports included)."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        fail(f"{what} exited with {done.returncode}")
    return seconds


def fail(reason: str) -> None:
    print(reason, file=sys.stderr)
    sys.exit(1)


def expect(path: Path, what: str) -> None:
    if not path.exists():
        fail(f"{what} wrote no {path.name}")


def emit(seconds: float, converter: str) -> None:
    sys.stdout.flush()
    print(json.dumps({"seconds": round(seconds, 3), "converter": converter}), flush=True)
