"""The `modelferry` console script: the command goes to the resident engine when one can run it
(flows/resident/), else it runs here."""

from __future__ import annotations

import os
import sys


def main() -> None:  # pragma: no cover
    from flows.resident.client import hand_off

    code = hand_off(sys.argv[1:])
    if code is None:
        from flows.cli import main as run_here

        run_here()  # ends the process
    else:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
