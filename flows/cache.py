"""Content-addressed bundle cache: an unchanged stage re-run does no work.

A stage's key is sha256(stage, impl, canonical config, the content hashes of
its input bundles, the runtime image's identity, the stage's own code and the
stages modules it imports: flows/code.py). Content,
never names: two models with one file name never share a key.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

from flows.code import stage_code_sha256
from flows.errors import ConversionError, StageFailed
from flows.settings import home
from stages import catalog
from stages.bundle import MANIFEST, content_sha256, file_sha256s, tree_digest, tree_sha256
from stages.contract import SCHEMA_VERSION, stamped

FILES = ".files.json"  # beside a finished bundle: its files' sha256, by relative path


def stage_key(stage: str, impl: str, config: dict, inputs: list[Path], runtime_identity: str) -> str:
    material = {
        "schema": SCHEMA_VERSION,  # a bundle of another manifest contract is never found, so never misread
        "stage": stage,
        "impl": impl,
        "config": config,
        "inputs": [bundle_sha256(path) for path in inputs],
        "runtime": runtime_identity,
        "code": stage_code(stage, impl),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def stage_code(stage: str, impl: str) -> str:
    """What a stage's key holds of its code: its own modules and what they import (kept for the process)."""
    return stage_code_sha256(catalog.get(stage, impl).modules)


def content_sha256_in(bundle: Path, path: Path) -> str:
    """content_sha256 of a file or folder of a finished bundle, from the files' hashes its commit kept (a
    report names its artifacts' hashes, and an unchanged re-run should not read them all again)."""
    try:
        hashes = json.loads(bundle.with_name(bundle.name + FILES).read_text())
        relative = path.relative_to(bundle).as_posix()
    except (OSError, ValueError):
        return content_sha256(path)
    if path.is_dir():
        inside = {
            name[len(relative) + 1 :]: digest for name, digest in hashes.items() if name.startswith(relative + "/")
        }
        return tree_digest(inside) if inside else content_sha256(path)
    return hashes.get(relative) or content_sha256(path)


def bundle_sha256(path: Path) -> str:
    """A bundle's content hash, remembered beside it (bundles never change once finished)."""
    sidecar = path.with_name(path.name + ".sha256")
    if sidecar.is_file():
        return sidecar.read_text().strip()
    return tree_sha256(path)


class BundleCache:
    def __init__(self, root: Path | None = None):
        self.root = root or home() / "bundles"

    def get(self, key: str) -> Path | None:
        path = self.root / key
        return path if (path / MANIFEST).is_file() else None

    def scratch(self, key: str) -> Path:
        """An empty directory for a stage to write into; `commit` makes it the cached bundle."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f".tmp-{key[:16]}-{uuid.uuid4().hex[:8]}"
        path.mkdir()
        return path

    @contextmanager
    def claim(self, key: str):
        """Hold the key while its bundle is made: a concurrent run (another process, or another branch
        of this one) waits here, then finds the bundle made instead of making it again."""
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / key, "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            yield

    def commit(self, scratch: Path, key: str) -> Path:
        """Make a finished scratch directory the bundle of `key`: its hash sidecar first, then the bundle,
        each by an atomic rename. A bundle that is there is never replaced (a run may be reading it)."""
        final = self.root / key
        with open(self.root / f".{key}.commit", "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            if (final / MANIFEST).is_file():  # a concurrent run finished first
                shutil.rmtree(scratch, ignore_errors=True)
                return final
            if final.exists():  # an unfinished directory of a crashed run (no manifest): nobody reads it
                shutil.rmtree(final)
            hashes = file_sha256s(scratch)
            for sidecar, text in (
                (final.with_name(key + FILES), json.dumps(hashes, sort_keys=True)),
                (final.with_name(key + ".sha256"), tree_digest(hashes)),
            ):
                tmp = self.root / f".{sidecar.name}.{uuid.uuid4().hex[:8]}"
                tmp.write_text(text)
                os.replace(tmp, sidecar)
            os.replace(scratch, final)
        (self.root / f".{key}.commit").unlink(missing_ok=True)
        return final

    def failure(self, key: str) -> StageFailed | None:
        """The remembered failure of `key` (the stage said why, and would say it again), or None."""
        path = self.root / f"{key}.failed.json"
        if not path.is_file():
            return None
        known = json.loads(path.read_text())
        failed = StageFailed(known["stage"], known["cause"], log_tail=known.get("log_tail", ""))
        failed.settled = failed.cached = True
        return failed

    def remember_failure(self, key: str, failed: StageFailed) -> None:
        path = self.root / f"{key}.failed.json"
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(json.dumps({"stage": failed.stage, "cause": failed.cause, "log_tail": failed.log_tail}))
        os.replace(tmp, path)

    def discard(self, scratch: Path) -> None:
        shutil.rmtree(scratch, ignore_errors=True)

    def scratch_root(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root

    def put_source(
        self,
        files: dict[str, Path],
        manifest: dict,
        known: dict[str, str] | None = None,
        beside: dict[str, Path] | None = None,
    ) -> Path:
        """The user's model files as the load stage's input bundle, copied (never linked: a file the
        user rewrites in place must not change a cached bundle), a block at a time.

        `known` holds content hashes the caller already computed, so large weights are read once.
        The same file may serve two roles (--samples and --calibration): each role gets its own copy.
        `beside`: files the model names by a path relative to it (external data), copied to that path
        next to the model; the manifest lists them under `beside`.
        """
        known, beside = known or {}, beside or {}
        if beside:
            manifest = {**manifest, "beside": sorted(beside)}
        digest = hashlib.sha256(json.dumps(stamped(manifest), sort_keys=True).encode())  # the version keys it too
        for role, path in sorted(files.items()):
            content = known.get(role) or content_sha256(path)
            digest.update(role.encode() + b"\0" + content.encode())
        for relative, path in sorted(beside.items()):
            content = known.get(f"beside:{relative}") or content_sha256(path)
            digest.update(relative.encode() + b"\0" + content.encode())
        key = "source-" + digest.hexdigest()
        if self.get(key):
            return self.root / key
        scratch = self.scratch(key)
        names: dict[str, str] = {}
        for role, path in files.items():
            name = path.name if path.name not in names.values() and path.name != MANIFEST else f"{role}-{path.name}"
            names[role] = name
            if path.is_dir():
                shutil.copytree(path, scratch / name)
            else:
                shutil.copyfile(path, scratch / name)
        for relative, path in beside.items():
            if relative == MANIFEST or relative in names.values():
                shutil.rmtree(scratch, ignore_errors=True)
                raise ConversionError(
                    "load", f"the model keeps weights in {relative!r}, the name of one of its own files", file=str(path)
                )
            (scratch / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, scratch / relative)
        (scratch / MANIFEST).write_text(json.dumps(stamped({**manifest, "files": names}), indent=2, sort_keys=True))
        return self.commit(scratch, key)
