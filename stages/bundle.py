"""Bundles: the directories passed between stages.

A bundle is model files plus `manifest.json`: format, files by role, the
input/output signature, preprocessing that was stripped, provenance and
metrics. The manifest is written last and atomically, so a directory without
one is never mistaken for a finished bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from stages.contract import Manifest, checked

MANIFEST = "manifest.json"
# Files every stage carries forward so that validate needs only the target runtime.
CARRIED_ROLES = ("samples", "golden", "calibration")
# Manifest fields a stage inherits from its input unless it sets them itself.
# `legalized`: what ONNX legalization passes rewrote on the way (stages/onnx/legalize), told in the report
INHERITED_FIELDS = (
    "inputs",
    "outputs",
    "preprocess",
    "source",
    "precision",
    "noise_floor",
    "samples_info",
    "legalized",
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256s(root: Path) -> dict[str, str]:
    """Each file's sha256 under a directory, by its relative path."""
    return {path.relative_to(root).as_posix(): sha256_file(path) for path in root.rglob("*") if path.is_file()}


def tree_digest(hashes: dict[str, str]) -> str:
    """A directory's content hash from its files' (file_sha256s): relative paths and contents, nothing else."""
    digest = hashlib.sha256()
    for relative in sorted(hashes, key=PurePosixPath):  # the order of the Paths themselves, as it always was
        digest.update(relative.encode() + b"\0")
        digest.update(hashes[relative].encode() + b"\0")
    return digest.hexdigest()


def tree_sha256(root: Path) -> str:
    """Content hash of a directory: relative paths and file contents, nothing else."""
    return tree_digest(file_sha256s(root))


def content_sha256(path: Path) -> str:
    """A file's sha256, or a directory's content hash (SavedModels are directories)."""
    return tree_sha256(path) if path.is_dir() else sha256_file(path)


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


@dataclass
class Bundle:
    path: Path
    manifest: Manifest

    @classmethod
    def read(cls, path: Path) -> "Bundle":
        """The finished bundle at `path`, its manifest checked against this contract (stages/contract.py)."""
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{path} is not a finished bundle (no {MANIFEST})")
        return cls(path, checked(json.loads(manifest_path.read_text()), f"bundle {path}"))

    @property
    def format(self) -> str:
        return self.manifest["format"]

    def file(self, role: str) -> Path:
        try:
            return self.path / self.manifest["files"][role]
        except KeyError:
            raise KeyError(f"bundle {self.path} has no {role!r} file") from None

    def has(self, role: str) -> bool:
        return role in self.manifest.get("files", {})

    def inherited(self) -> dict:
        return {k: self.manifest[k] for k in INHERITED_FIELDS if k in self.manifest}

    def carry_to(self, out: Path) -> dict[str, str]:
        """Copy samples/golden/calibration into `out`; returns their file roles."""
        files = {}
        for role in CARRIED_ROLES:
            if self.has(role):
                name = self.manifest["files"][role]
                shutil.copyfile(self.file(role), out / name)
                files[role] = name
        return files
