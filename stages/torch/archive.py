"""Tell what a PyTorch file is before any loader sees it, and refuse what loading would execute.

`torch.save` of a whole module, TorchScript (`torch.jit.save`) and torch.export
(`torch.export.save`) all write zip archives under one root folder. Only
their entries and the globals their pickles name (read, never unpickled) are
looked at here.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from stages.errors import StageError
from stages.torch import pickles

WHAT = {"torchscript": "TorchScript", "torch-export": "torch.export"}
SUFFIX = {"torchscript": ".pt", "torch-export": ".pt2"}
PICKLE_PROTO = b"\x80"  # a pickle's first opcode: torch.save's legacy (non-zip) format starts with it
LEGACY_PICKLES = 5  # that format's pickles: magic number, protocol, system info, the object, storage keys
HOW_TO_SAVE = (
    "modelferry reads TorchScript (torch.jit.save) and torch.export (.pt2) files: save the model "
    "with torch.jit.script or torch.jit.trace + torch.jit.save, or with torch.export.export + "
    "torch.export.save"
)
# Entries of a torch.export archive whose loading would run code: compiled native code, pickle.loads.
PT2_CODE = {
    "data/aotinductor/": "AOTInductor-compiled native code",
    "data/executorch/": "ExecuTorch programs",
    "data/constants/opaque_obj_": "pickled Python objects (opaque constants)",
}


@dataclass
class Archive:
    kind: str  # torchscript, torch-export, pickle, weights, legacy-export, unknown
    root: str = ""
    names: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)  # what a pickle would import (pickle kind)

    def entries(self, prefix: str) -> list[str]:
        return [n for n in self.names if n.startswith(f"{self.root}/{prefix}")]


def _pickle_kind(data: bytes, count: int = 1) -> tuple[str, list[str]]:
    try:
        objects = pickles.object_globals(data, count)
    except ValueError:
        objects = ["<an unreadable pickle>"]
    return ("pickle" if objects else "weights"), objects


def classify(path: Path) -> Archive:
    """What the file is; raises ValueError (with the cause) when it is not a readable archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if not names:
                raise ValueError("the zip archive is empty")
            root = names[0].split("/", 1)[0]
            entries = set(names)
            if f"{root}/archive_format" in entries:
                return Archive("torch-export", root, names)
            if any(n.startswith(f"{root}/code/") for n in names) and f"{root}/data.pkl" in entries:
                return Archive("torchscript", root, names)
            if f"{root}/data.pkl" in entries:
                kind, objects = _pickle_kind(archive.read(f"{root}/data.pkl"))
                return Archive(kind, root, names, objects)
            if "serialized_exported_program.json" in entries:
                return Archive("legacy-export", "", names)
            return Archive("unknown", root, names)
    except zipfile.BadZipFile as exc:
        with open(path, "rb") as handle:
            head = handle.read(1)
        if head == PICKLE_PROTO:  # torch.save(..., _use_new_zipfile_serialization=False)
            kind, objects = _pickle_kind(path.read_bytes(), LEGACY_PICKLES)
            return Archive(kind, "", [], objects)
        raise ValueError(str(exc) or type(exc).__name__) from None
    except (OSError, EOFError, KeyError, zipfile.LargeZipFile) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None


def _refusal(archive: Archive, name: str, expected: str) -> str | None:
    what = WHAT[expected]
    messages = {
        "pickle": lambda: (
            f"{name} holds a pickled Python object ({', '.join(archive.objects[:3])}), which "
            f"loading would execute; {HOW_TO_SAVE}"
        ),
        "weights": lambda: f"{name} holds only weights (a state_dict of tensors), no graph to convert; {HOW_TO_SAVE}",
        "legacy-export": lambda: (
            f"{name} is a torch.export archive in the format before torch 2.7, whose "
            f"loading unpickles; save it again with torch.export.save"
        ),
        "unknown": lambda: (
            f"{name} is not a readable {what} archive: a zip without TorchScript code/ or torch.export entries"
        ),
    }
    for other, suffix in SUFFIX.items():
        if other != expected:
            messages[other] = lambda other=other, suffix=suffix: (
                f"{name} is a {WHAT[other]} archive, not {what}: name it {suffix}"
            )
    return messages[archive.kind]() if archive.kind in messages else None


def _export_payloads(archive: Archive, path: Path, name: str) -> None:
    """A torch.export archive holds no code and no pickles of Python objects (only of tensors)."""
    for prefix, what in PT2_CODE.items():
        if archive.entries(prefix):
            raise StageError(
                f"{name} holds {what}, which loading would run; modelferry reads torch.export "
                f"archives of graphs and tensors only"
            )
    with zipfile.ZipFile(path) as outer:
        for entry in archive.entries("data/"):
            data = outer.read(entry)
            if not data.startswith(b"PK\x03\x04"):
                continue  # raw tensor bytes
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as inner:
                    pickled = [n for n in inner.namelist() if n.endswith("/data.pkl")]
                    payload = inner.read(pickled[0]) if pickled else None
            except zipfile.BadZipFile:
                continue  # tensor bytes that happen to start like a zip
            if payload is not None and (objects := _pickle_kind(payload)[1]):
                raise StageError(
                    f"{name} holds a pickled Python object ({', '.join(objects[:3])}) in "
                    f"{entry.split('/', 1)[-1]}, which loading would execute; save the model "
                    f"again with torch.export.save"
                )


def expect(path: Path, name: str, kind: str) -> Archive:
    """The archive, if it is of `kind` and safe to hand to its loader; else a StageError saying what it is."""
    try:
        archive = classify(path)
    except ValueError as exc:
        raise StageError(f"{name} is not a readable {WHAT[kind]} archive: {exc}") from None
    refusal = None if archive.kind == kind else _refusal(archive, name, kind)
    if refusal:
        raise StageError(refusal)
    if kind == "torch-export":
        _export_payloads(archive, path, name)
    return archive
