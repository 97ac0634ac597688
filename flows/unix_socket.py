"""A connection to a local SOCK_SEQPACKET socket by its folder and name.

A socket's address holds 108 bytes, and a MODELFERRY_HOME may be longer: the socket is reached through an
open descriptor of its folder (/proc/self/fd/N/name). Standard library only: the console script's first
imports use it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def connect_in(folder: Path, name: str, timeout: float | None = None) -> socket.socket:
    """A connection to the socket `name` in `folder` (blocking once made); OSError when none listens."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.settimeout(timeout)
        try:
            sock.connect(f"/proc/self/fd/{fd}/{name}")
        except OSError:
            sock.close()
            raise
        sock.settimeout(None)
        return sock
    finally:
        os.close(fd)
