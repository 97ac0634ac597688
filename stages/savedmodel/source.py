"""How a TF SavedModel is recognised: a folder holding saved_model.pb (or that file, which names its folder)
(pure Python: the orchestrator reads it)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from stages.sources import Found, SourceError

PROTO = "saved_model.pb"


def sniff(path: Path) -> bool:
    return (path / PROTO).is_file() if path.is_dir() else path.name == PROTO


def resolve(path: Path, options: Mapping[str, object]) -> Found:
    folder = path if path.is_dir() else path.parent
    if not (folder / PROTO).is_file():
        raise SourceError(f"a directory source must be a TF SavedModel (no {PROTO})", folder)
    return Found({"model": folder}, folder.resolve().name)
