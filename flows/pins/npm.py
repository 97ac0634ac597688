"""A runtime's Node.js side: images/<name>/package-lock.json, installed with `npm ci`.

Only runtimes whose folder holds a package-lock.json have one (tfjs). The
packages are installed from the lock, with install scripts off (a package
that downloads a binary at install would need the network a stage never
has), and the lock's hash is part of the runtime's identity.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from flows import IMAGES_ROOT

PACKAGE_FILES = ("package.json", "package-lock.json")


class NpmError(RuntimeError):
    pass


def package_lock(image: str) -> Path | None:
    """images/<image>/package-lock.json, or None for a runtime without Node packages."""
    path = IMAGES_ROOT / image / "package-lock.json"
    return path if path.is_file() else None


def package_lock_sha256(image: str) -> str | None:
    path = package_lock(image)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def node_binary() -> Path:
    """The host's `node` (stage venvs run it; images copy it in)."""
    found = shutil.which("node")
    if not found:
        raise NpmError("this runtime runs models in Node.js, but no `node` is on PATH: install Node.js 20")
    return Path(found).resolve()


def npm_ci(image: str, dest: Path) -> Path:
    """Install the image's locked Node packages into dest/node_modules; returns that folder."""
    npm = shutil.which("npm")
    if not npm:
        raise NpmError(f"images/{image}/package-lock.json needs `npm` on this machine to install its packages")
    dest.mkdir(parents=True, exist_ok=True)
    for name in PACKAGE_FILES:
        shutil.copyfile(IMAGES_ROOT / image / name, dest / name)
    done = subprocess.run(
        [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=dest,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise NpmError(f"npm ci for images/{image}/package-lock.json failed: {' '.join(lines[-3:])}")
    return dest / "node_modules"
