"""How a TFJS model is recognised: a `.json` holding a `modelTopology` (not an MXNet symbol, which is told
apart by its content), a graph model's (a GraphDef) or a layers model's (a Keras topology), with the weight
shards its `weightsManifest` names beside it (pure Python: the orchestrator reads it)."""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Mapping, Tuple

from stages.sources import Found, SourceError, escape, head

FORMAT = re.compile(rb'"format"\s*:\s*"(graph|layers)-model"')
KERAS = re.compile(rb'"keras_version"|"model_config"|"class_name"')


def kind(path: Path) -> str | None:
    """ "graph" or "layers" (a Keras topology), by model.json's `format`, else by what its modelTopology holds
    (TFJS before 1.0 wrote no format); None for a .json that is no TFJS model."""
    text = head(path)
    if found := FORMAT.search(text):
        return found[1].decode()
    if b'"modelTopology"' in text:
        return "layers" if KERAS.search(text) else "graph"
    return None


def is_graph(path: Path) -> bool:
    return kind(path) == "graph"


def is_layers(path: Path) -> bool:
    return kind(path) == "layers"


def shards(path: Path) -> list[str]:
    """The weight files model.json names, relative to it (each checked to stay inside its folder)."""
    try:
        model = json.loads(path.read_text())
        paths = [p for group in model.get("weightsManifest", []) for p in group.get("paths", [])]
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise SourceError(f"not a readable TFJS model.json: {exc}", path) from None
    for name in paths:
        relative = PurePosixPath(str(name))
        if not name or relative.is_absolute() or ".." in relative.parts:
            raise SourceError(
                f"its weightsManifest names {name!r}, outside its folder: shards must lie beside model.json", path
            )
    return [str(PurePosixPath(p)) for p in paths]


def resolve(path: Path, options: Mapping[str, object]) -> Found:
    if not path.is_file():
        raise SourceError("the TFJS model.json is missing", path)
    folder = path.resolve().parent
    beside = {}
    for name in shards(path):
        file = path.parent / name
        if not file.is_file():
            raise SourceError(f"the weight shard {name!r} it names is not beside it (looked for {file})", path)
        if not file.resolve().is_relative_to(folder):
            raise SourceError(f"the weight shard {name!r} is a link that leads outside its folder", path)
        beside[name] = file
    return Found({"model": path}, path.stem, beside)


def companions(entry: Path) -> Tuple[str, ...]:
    try:
        return tuple(escape(name) for name in shards(entry))
    except SourceError:
        return ()
