"""Warm runtime workers, the host's side: one worker per runtime per process, each stage a forked child.

A stage run cold is a new process that imports its framework again (TensorFlow: 3-4 s before any work).
A worker (stages/warm/worker.py) imports the frameworks named in images/<name>/warm.txt once; each stage
of that runtime is then a fork of it, which enters a sandbox the host made with the stage's own mounts
(bubblewrap around a placeholder, flows/runtimes/sandbox.py) before it reads anything. The stage contract
does not change: the same argv, exit codes, log and output checks as a cold stage.

Where a worker cannot be had (no warm.txt, a framework that starts threads at import, a worker that died,
a sandbox it could not enter) the stage runs cold, and so do the runtime's next stages in this process.
MODELFERRY_WARM=off runs every stage cold.
"""

from __future__ import annotations

import os

SWITCH = "MODELFERRY_WARM"
PROCESS = "MODELFERRY_PROCESS"  # in a warm stage's environment (and its provenance): "warm"


def enabled() -> bool:
    return os.environ.get(SWITCH, "").strip().lower() != "off"


class Unavailable(Exception):
    """The warm path cannot run this stage: run it cold."""
