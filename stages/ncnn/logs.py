"""What ncnn says while it loads a model: its C++ side writes the failing layer to stderr
("layer load_param 1 lstm_0 failed") and returns -1, so the file descriptor is read around the call."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def stderr_lines() -> Iterator[list[str]]:
    """Within the block, fd 2 goes to a private file; on leaving, its lines fill the yielded list
    (and are written on to the real stderr, so the stage's log still shows them)."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode(errors="replace")
            os.write(2, text.encode())
            lines.extend(line.strip() for line in text.splitlines() if line.strip())
