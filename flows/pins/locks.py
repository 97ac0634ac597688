"""What a runtime is made from: its lock file (images/<name>/requirements.lock), or the Debian release and
packages it is made of (debian.txt), its Python (python.txt), and its Node packages' lock where it has one.
Both a venv (flows/runtimes/venv.py) and a container image (flows/images.py) are made from these."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flows import IMAGES_ROOT
from flows.pins.npm import package_lock_sha256

DEBIAN = "debian.txt"


def debian(image: str) -> tuple[str, list[str]] | None:
    """(suite, packages) of a runtime made of one Debian release's own packages (images/<name>/debian.txt:
    the suite on its first line, then packages), which exists only as a container image; else None."""
    path = IMAGES_ROOT / image / DEBIAN
    if not path.is_file():
        return None
    words = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    words = [w for w in words if w]
    return words[0], words[1:]


PYTHON = "python.txt"
DEFAULT_PYTHON = "3.11"
# the Debian release whose python3 is each version other than the default, for a container image's base
PYTHON_SUITES = {"3.11": "bookworm", "3.13": "trixie"}


def python_version(image: str) -> str:
    """The Python a runtime runs on: images/<name>/python.txt (onnx2tf 2 needs 3.12 or later), else 3.11."""
    path = IMAGES_ROOT / image / PYTHON
    words = [line.split("#")[0].strip() for line in path.read_text().splitlines()] if path.is_file() else []
    return next((w for w in words if w), DEFAULT_PYTHON)


def lock_path(image: str) -> Path:
    path = IMAGES_ROOT / image / "requirements.lock"
    if not path.is_file():
        raise FileNotFoundError(f"runtime image {image!r} has no {path}")
    return path


def lock_sha256(image: str) -> str:
    """What pins the runtime: its lock file, or the Debian release and packages it is made of."""
    if debian(image) is not None:
        return hashlib.sha256((IMAGES_ROOT / image / DEBIAN).read_bytes()).hexdigest()
    return hashlib.sha256(lock_path(image).read_bytes()).hexdigest()


def runtime_sha256(image: str) -> str:
    """What the runtime is made from: the lock, and the Node packages' lock where there is one.

    Without a package-lock.json this is the lock's hash, so existing venvs keep their paths.
    """
    npm = package_lock_sha256(image)
    if npm is None:
        return lock_sha256(image)
    return hashlib.sha256(f"{lock_sha256(image)}\0{npm}".encode()).hexdigest()
