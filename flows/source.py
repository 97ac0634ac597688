"""Find the files of a source model from what the user pointed at."""
from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from flows import picture_folder
from flows.cache import BundleCache
from flows.errors import ConversionError
from stages import catalog
from stages.bundle import content_sha256, tree_sha256
from stages.onnx import external

PARAMS_RE = re.compile(r"^(?P<prefix>.+)-(?P<epoch>\d{4})\.params$")
# File names that say nothing of the model (insightface's model-symbol.json, a SavedModel exported to
# export/1/): in the store, the nearest folder above with a name of its own names the model instead.
GENERIC_NAMES = {"model", "models", "saved_model", "savedmodel", "frozen_graph", "frozen_inference_graph", "graph",
                 "net", "network", "weights", "checkpoint", "checkpoints", "export", "exported", "module", "onnx"}
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
        combined = hashlib.sha256("".join([*(hashes[k] for k in sorted(hashes)),
                                           *(f"{k}\0{beside[k]}" for k in sorted(beside))]).encode()).hexdigest()
        info = {"format": self.format, "name": self.name, "sha256": combined,
                "files": {role: {"name": path.name, "sha256": hashes[role]} for role, path in self.files.items()}}
        if beside:
            info["beside"] = {relative: {"sha256": digest} for relative, digest in beside.items()}
        return info

    def bundle(self, **extras: Path | None) -> Path:
        """The load stage's input bundle: the model files plus calibration/samples when given
        (an .npz, or a folder of pictures, decoded here)."""
        extras = {role: path for role, path in extras.items() if path}
        known = {role: entry["sha256"] for role, entry in self.info["files"].items()}
        known.update({f"beside:{relative}": entry["sha256"] for relative, entry in self.info.get("beside", {}).items()})
        manifest = {"format": self.bundle_format, "source": self.info,
                    "user_files": {role: path.name for role, path in extras.items()}}
        cache = BundleCache()
        with tempfile.TemporaryDirectory(dir=cache.scratch_root()) as tmp:
            for role, path in list(extras.items()):
                if path.is_dir():
                    known[role] = tree_sha256(path)   # the pictures' content, not the .npz's zip dates
                    extras[role] = picture_folder.decode(path, role, Path(tmp) / f"{role}-pictures.npz")
                    manifest.setdefault("picture_roles", []).append(role)
                    manifest["user_files"][role] = f"{path.name}/ ({len(picture_folder.files(path))} pictures)"
                elif not path.is_file():
                    raise ConversionError("load", f"the {role} file is missing", file=str(path))
            return cache.put_source({**self.files, **extras}, manifest, known, beside=self.beside)

def resolve_mxnet(path: Path, epoch: int | None) -> SourceFiles:
    """Accept `prefix-symbol.json`, `prefix-NNNN.params`, or a prefix with --epoch."""
    text = str(path)
    if text.endswith("-symbol.json"):
        prefix = Path(text[: -len("-symbol.json")])
    elif match := PARAMS_RE.match(path.name):
        prefix = path.with_name(match["prefix"])
        epoch = int(match["epoch"]) if epoch is None else epoch
    elif path.suffix in ("", ".") or not path.exists():
        prefix = path
    else:
        raise ConversionError("load", "not an MXNet checkpoint: pass prefix-symbol.json, "
                              "prefix-NNNN.params, or the prefix with --epoch", file=text)
    symbol = Path(f"{prefix}-symbol.json")
    if not symbol.is_file():
        raise ConversionError("load", "the symbol file is missing", file=str(symbol))
    if epoch is None:
        found = sorted(prefix.parent.glob(f"{prefix.name}-[0-9][0-9][0-9][0-9].params"))
        if len(found) != 1:
            what = "no .params file beside it" if not found else \
                f"several epochs ({', '.join(p.name for p in found)}); pick one with --epoch"
            raise ConversionError("load", f"cannot tell which parameters to use: {what}", file=str(symbol))
        params = found[0]
    else:
        params = Path(f"{prefix}-{epoch:04d}.params")
    if not params.is_file():
        raise ConversionError("load", "the parameters file is missing", file=str(params))
    return SourceFiles(format="mxnet", name=store_name(symbol, prefix.name), files={"symbol": symbol, "params": params})


def single_file(fmt: str, what: str):
    """A resolver for a model that is one file (ONNX, Keras)."""
    def resolve_file(path: Path, epoch: int | None) -> SourceFiles:
        if not path.is_file():
            raise ConversionError("load", f"the {what} file is missing", file=str(path))
        return SourceFiles(format=fmt, name=store_name(path, path.stem), files={"model": path})
    return resolve_file


def resolve_onnx(path: Path, epoch: int | None) -> SourceFiles:
    """An ONNX file, and the external data files it names (weights kept in a .bin beside it)."""
    source = single_file("onnx", "ONNX")(path, epoch)
    try:
        source.beside = external.files(path, path.name)
    except external.ExternalDataError as exc:
        raise ConversionError("load", str(exc), file=str(path)) from None
    return source


def resolve_savedmodel(path: Path, epoch: int | None) -> SourceFiles:
    if not (path / "saved_model.pb").is_file():
        raise ConversionError("load", "a directory source must be a TF SavedModel (no saved_model.pb)",
                              file=str(path))
    return SourceFiles(format="savedmodel", name=store_name(path, path.resolve().name), files={"model": path})


# How a source file's name tells its framework: suffix -> (format, what the user calls it).
# A prefix without suffix is an MXNet checkpoint; a directory is a TF SavedModel.
SINGLE_FILES = {".onnx": ("onnx", "ONNX"), ".keras": ("keras", "Keras"), ".h5": ("keras", "Keras"), ".hdf5": ("keras", "Keras"),
                ".pb": ("graphdef", "frozen TF GraphDef"), ".tflite": ("tflite", "TFLite"),
                ".pt": ("torchscript", "TorchScript"), ".pth": ("torchscript", "TorchScript"),
                ".jit": ("torchscript", "TorchScript"), ".torchscript": ("torchscript", "TorchScript"),
                ".pt2": ("torch-export", "torch.export")}
RESOLVERS = {".json": resolve_mxnet, ".params": resolve_mxnet, "": resolve_mxnet,
             **{suffix: single_file(fmt, what) for suffix, (fmt, what) in SINGLE_FILES.items()},
             ".onnx": resolve_onnx}


def known_sources() -> str:
    singles = {}
    for suffix, (_, what) in SINGLE_FILES.items():
        singles.setdefault(what, []).append(suffix)
    files = "; ".join(f"{what} ({', '.join(suffixes)})" for what, suffixes in singles.items())
    return (f"MXNet checkpoints (prefix-symbol.json, prefix-NNNN.params); {files}; "
            f"and TF SavedModel directories")


def resolve(path: Path, epoch: int | None) -> SourceFiles:
    """Which framework a source is in, told by its file name (or a SavedModel's directory)."""
    if path.is_dir():
        return resolve_savedmodel(path, epoch)
    suffix = path.suffix if path.suffix in RESOLVERS else ("" if not path.exists() else path.suffix)
    try:
        resolver = RESOLVERS[suffix]
    except KeyError:
        raise ConversionError("load", f"modelferry does not read {suffix!r} files; sources are "
                              f"{known_sources()}", file=str(path)) from None
    return resolver(path, epoch)
