"""Find the files of a source model from what the user pointed at."""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping

from flows import picture_folder
from flows.cache import BundleCache
from flows.errors import ConversionError
from stages import catalog, sources
from stages.bundle import content_sha256, tree_sha256

# File names that say nothing of the model (insightface's model-symbol.json, a SavedModel exported to
# export/1/): in the store, the nearest folder above with a name of its own names the model instead.
GENERIC_NAMES = {
    "model",
    "models",
    "saved_model",
    "savedmodel",
    "frozen_graph",
    "frozen_inference_graph",
    "graph",
    "net",
    "network",
    "weights",
    "checkpoint",
    "checkpoints",
    "export",
    "exported",
    "module",
    "onnx",
}
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def store_name(path: Path, stem: str) -> str:
    """The model's name in the store: the file's stem, or its folder's where the stem is generic."""
    names = [stem, *(p.name for p in path.resolve().parents)]
    name = next((n for n in names if n and n.lower() not in GENERIC_NAMES and not n.isdigit()), stem)
    return UNSAFE.sub("-", name).strip("-.") or "model"


@dataclass
class SourceFiles:
    format: str
    name: str
    files: dict[str, Path]
    # Files the model names by a path relative to itself (an ONNX model's external data): copied beside it,
    # at that path, into the bundle. Their content is part of the source's identity.
    beside: dict[str, Path] = field(default_factory=dict)

    @property
    def bundle_format(self) -> str:
        return catalog.SOURCES[self.format]

    @cached_property
    def info(self) -> dict:
        """What the report says of the source: format, one sha256 over its files, and each file's."""
        hashes = {role: content_sha256(path) for role, path in self.files.items()}
        beside = {relative: content_sha256(path) for relative, path in self.beside.items()}
        combined = hashlib.sha256(
            "".join([*(hashes[k] for k in sorted(hashes)), *(f"{k}\0{beside[k]}" for k in sorted(beside))]).encode()
        ).hexdigest()
        info = {
            "format": self.format,
            "name": self.name,
            "sha256": combined,
            "files": {role: {"name": path.name, "sha256": hashes[role]} for role, path in self.files.items()},
        }
        if beside:
            info["beside"] = {relative: {"sha256": digest} for relative, digest in beside.items()}
        return info

    def bundle(self, **extras: Path | None) -> Path:
        """The load stage's input bundle: the model files plus calibration/samples when given
        (an .npz, or a folder of pictures, decoded here)."""
        given = {role: path for role, path in extras.items() if path}
        known = {role: entry["sha256"] for role, entry in self.info["files"].items()}
        known.update({f"beside:{relative}": entry["sha256"] for relative, entry in self.info.get("beside", {}).items()})
        user_files = {role: path.name for role, path in given.items()}
        picture_roles: list[str] = []
        manifest = {"format": self.bundle_format, "source": self.info, "user_files": user_files}
        cache = BundleCache()
        with tempfile.TemporaryDirectory(dir=cache.scratch_root()) as tmp:
            for role, path in list(given.items()):
                if path.is_dir():
                    known[role] = tree_sha256(path)  # the pictures' content, not the .npz's zip dates
                    given[role] = picture_folder.decode(path, role, Path(tmp) / f"{role}-pictures.npz")
                    picture_roles.append(role)
                    user_files[role] = f"{path.name}/ ({len(picture_folder.files(path))} pictures)"
                elif not path.is_file():
                    raise ConversionError("load", f"the {role} file is missing", file=str(path))
            if picture_roles:
                manifest["picture_roles"] = picture_roles
            return cache.put_source({**self.files, **given}, manifest, known, beside=self.beside)


def resolve(path: Path, options: Mapping[str, object] | None = None) -> SourceFiles:
    """Which framework a source is in and which files make it, as the frameworks' registries declare
    (stages/sources.py): told by its name, by its content where names collide, and by the options that pick
    among its files (MXNet's --epoch)."""
    try:
        kind = sources.choose(path, catalog.SOURCE_KINDS)
        given = dict(options or {})
        found = kind.files(path, {name: given.get(name) for name in kind.options})
    except sources.SourceError as exc:
        raise ConversionError("load", exc.message, file=exc.file) from None
    anchor = next(iter(found.files.values()))
    return SourceFiles(format=kind.format, name=store_name(anchor, found.stem), files=found.files, beside=found.beside)


def known_sources() -> str:
    return sources.described(catalog.SOURCE_KINDS)
