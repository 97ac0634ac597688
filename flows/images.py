"""Lock files of the runtime images: `modelferry images lock` regenerates them."""
from __future__ import annotations

import subprocess

from flows import IMAGES_ROOT
from flows.runtimes.venv import uv_binary

LOCK_COMMAND = "modelferry images lock"


def lock(name: str) -> None:
    folder = IMAGES_ROOT / name
    argv = [uv_binary(), "pip", "compile", "-q", "--python-version", "3.11", "--generate-hashes",
            "--custom-compile-command", LOCK_COMMAND, str(folder / "requirements.in"),
            "-o", str(folder / "requirements.lock")]
    if (folder / "overrides.txt").is_file():
        argv += ["--override", str(folder / "overrides.txt")]
    subprocess.run(argv, check=True, cwd=folder)
