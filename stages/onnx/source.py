"""How an ONNX model is recognised: the `.onnx` file, and the external data files it names beside it
(pure Python: the orchestrator reads it)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Tuple

from stages.onnx import external
from stages.sources import Found, SourceError, escape, one_file


def resolve(path: Path, options: Mapping[str, object]) -> Found:
    found = one_file("ONNX")(path, options)
    try:
        return Found(found.files, found.stem, external.files(path, path.name))
    except external.ExternalDataError as exc:
        raise SourceError(str(exc), path) from None


def companions(entry: Path) -> Tuple[str, ...]:
    """The external data files the model names (an s3:// source fetches them beside it)."""
    try:
        return tuple(escape(location.replace("\\", "/")) for location in external.locations(entry))
    except external.ExternalDataError:
        return ()
