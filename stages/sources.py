"""How a source model is recognised from what the user points at, declared in its framework's folder.

Each `stages/<framework>/registry.py` lists its `SOURCES`: one `Source` per format it reads, saying which
file names it answers (suffixes, an MXNet prefix, a folder), how to tell it from another format of the same
suffix (content sniffing: a `.json` is an MXNet symbol or a TFJS model), which files make it whole
(companions: prototxt + caffemodel, model.json + weight shards, .meta + .index + .data-*) and which options
pick among them (MXNet's --epoch). flows/source.py (local paths), flows/remote.py (an s3:// source's
objects) and flows/mlflow_registry.py (a registered version's files) read these declarations only: adding
a source touches no file in flows/.

Pure Python, no framework: the orchestrator recognises files without loading any. Python 3.9 (the caffe
runtime reads the registries too).
"""

from __future__ import annotations

import fnmatch
import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Tuple

FOLDER = "/"  # a `names` entry: a directory is a candidate
PREFIX = ""  # a `names` entry: a path that is no file (a checkpoint's prefix) is a candidate
SNIFF_BYTES = 1 << 20


class SourceError(Exception):
    """What the user pointed at is not a model of this format, or lacks a file; `file` is the one to name."""

    def __init__(self, message: str, file):
        super().__init__(message)
        self.message, self.file = message, str(file)


@dataclass(frozen=True)
class Found:
    """A source's files: role -> path (the load stage finds them by role), the stem that names the model
    in the store, and the files the model names by a path relative to itself (ONNX external data), copied
    beside it at that path."""

    files: Dict[str, Path]
    stem: str
    beside: Dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """One source format.

    `names`: glob patterns of the file names the user may point at (`*.onnx`, `*-symbol.json`), `FOLDER`
    for a directory, `PREFIX` for a path that is no file. `entries`: the patterns of the one file that
    names the model among its files (default: `names`), what a registry version's or a bucket folder's
    files are searched for. `sniff(path)`: whether a candidate is one of ours, asked only where two formats
    answer the same name. `resolve(path, options)`: the files that make the model (default: the one file).
    `companions(entry)`: glob patterns, relative to the entry's folder, of the other files the model needs
    (read from the entry's content where it names them); an s3:// source fetches those objects with it.
    `options`: the request's options `resolve` reads."""

    format: str
    bundle: str
    what: str
    names: Tuple[str, ...]
    shown: str = ""
    entries: Tuple[str, ...] = ()
    sniff: Optional[Callable[[Path], bool]] = None
    resolve: Optional[Callable[[Path, Mapping[str, object]], Found]] = None
    companions: Optional[Callable[[Path], Tuple[str, ...]]] = None
    options: Tuple[str, ...] = ()

    def answers(self, path: Path) -> bool:
        """Whether the name of `path` is one this format's files have (no content read)."""
        if path.is_dir():
            return FOLDER in self.names
        if PREFIX in self.names and not path.exists():
            return True
        return any(fnmatch.fnmatch(path.name, pattern) for pattern in self.names if pattern not in (FOLDER, PREFIX))

    def closeness(self, path: Path) -> int:
        """How much of the name of `path` this format's patterns spell out (`*-symbol.json` says more of
        `model-symbol.json` than `*.json`), to tell which format a file that none recognises was meant as."""
        return max(
            (
                len(pattern.replace("*", ""))
                for pattern in self.names
                if pattern not in (FOLDER, PREFIX) and fnmatch.fnmatch(path.name, pattern)
            ),
            default=0,
        )

    def is_entry(self, path: Path) -> bool:
        """Whether `path`, among a folder's files, is the file (or folder) that names a model of this format."""
        patterns = self.entries or self.names
        if path.is_dir():
            return FOLDER in patterns and self.sniff is not None and self.sniff(path)
        named = any(fnmatch.fnmatch(path.name, p) for p in patterns if p not in (FOLDER, PREFIX))
        return named and (self.sniff is None or self.sniff(path))

    def files(self, path: Path, options: Mapping[str, object]) -> Found:
        if self.resolve is not None:
            return self.resolve(path, options)
        return one_file(self.what)(path, options)

    def needs(self, entry: Path) -> Tuple[str, ...]:
        return self.companions(entry) if self.companions is not None else ()

    @property
    def help(self) -> str:
        shown = self.shown or ", ".join(n.removeprefix("*") for n in self.names if n not in (FOLDER, PREFIX))
        return f"{self.what} ({shown})"


def one_file(what: str) -> Callable[[Path, Mapping[str, object]], Found]:
    """A model that is one file (ONNX, Keras, TFLite …)."""

    def resolve(path: Path, options: Mapping[str, object]) -> Found:
        if not path.is_file():
            raise SourceError(f"the {what} file is missing", path)
        return Found({"model": path}, path.stem)

    return resolve


def head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first bytes of a file, for sniffing (b"" for anything that is not a readable file)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def escape(name: str) -> str:
    """A file name as a glob pattern that matches only itself."""
    return glob.escape(name)


def choose(path: Path, sources) -> Source:
    """The one source format `path` is, told by its name and, where names collide, by its content."""
    named = [source for source in sources if source.answers(path)]
    if len(named) > 1:
        sniffed = [source for source in named if source.sniff is not None and source.sniff(path)]
        named = sniffed or [source for source in named if source.sniff is None]
        if not named and not path.exists():
            raise SourceError("no such file or folder", path)
        if not named:
            claimed = [source for source in sources if source.answers(path)]
            closest = max(source.closeness(path) for source in claimed)
            named = [source for source in claimed if source.closeness(path) == closest]
            if len(named) == 1:  # `model-symbol.json` is MXNet's to refuse, in its own words
                return named[0]
            raise SourceError(
                f"not a model modelferry reads: it is neither "
                f"{' nor '.join(s.help for s in sources if s.answers(path))}",
                path,
            )
    if len(named) == 1:
        return named[0]
    if named:
        raise SourceError(f"cannot tell whether this is {' or '.join(s.what for s in named)}", path)
    what = "folder" if path.is_dir() else (f"{path.suffix!r} files" if path.suffix else "files without a suffix")
    raise SourceError(f"modelferry does not read {what}; sources are {described(sources)}", path)


def described(sources) -> str:
    return "; ".join(source.help for source in sources)
