"""The files an ONNX model keeps its weights in (external data), read off the protobuf's wire format.

Pure Python on purpose: the orchestrator copies these files into the source bundle beside the model
without importing onnx, and without reading the weights themselves (a tensor's raw bytes are skipped
by their length). Every location must stay inside the model's folder: `..`, absolute paths and links
that leave it are refused, the way onnx's own checks refuse them, but naming the user's file.
"""

from __future__ import annotations

import mmap
from pathlib import Path, PurePosixPath

# Field numbers of onnx.proto (onnx/onnx.proto3) on the paths that can reach a tensor.
MODEL_GRAPH, MODEL_FUNCTIONS = 7, 25
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_SPARSE_INITIALIZER = 1, 5, 15
NODE_ATTRIBUTE = 5
FUNCTION_NODE = 7
ATTRIBUTE_T, ATTRIBUTE_G, ATTRIBUTE_TENSORS, ATTRIBUTE_GRAPHS, ATTRIBUTE_SPARSE = 5, 6, 10, 11, 22
ATTRIBUTE_SPARSE_TENSORS = 23
SPARSE_VALUES, SPARSE_INDICES = 1, 2
TENSOR_EXTERNAL_DATA, TENSOR_DATA_LOCATION = 13, 14
ENTRY_KEY, ENTRY_VALUE = 1, 2
EXTERNAL = 1
MAX_DEPTH = 64  # subgraphs inside subgraphs; a file nested deeper is not a model anyone exported


class ExternalDataError(ValueError):
    """A model's external data that cannot be taken: the message says which tensor and why."""


def _varint(data, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ExternalDataError("the file is truncated or not ONNX")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(data, start: int, end: int):
    """(field number, wire type, value or (start, end) of a length-delimited field) of one message."""
    at = start
    while at < end:
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            yield number, wire, value
        elif wire == 1:
            at += 8
        elif wire == 2:
            length, at = _varint(data, at)
            if at + length > end:
                raise ExternalDataError("the file is truncated or not ONNX")
            yield number, wire, (at, at + length)
            at += length
        elif wire == 5:
            at += 4
        else:
            raise ExternalDataError("the file is not ONNX (an unknown protobuf wire type)")


def _tensor(data, span) -> str | None:
    """A tensor's external data location, or None when its bytes are in the file."""
    location, external = None, False
    for number, wire, value in _fields(data, *span):
        if number == TENSOR_DATA_LOCATION and wire == 0:
            external = value == EXTERNAL
        elif number == TENSOR_EXTERNAL_DATA and wire == 2:
            entry = dict((n, bytes(data[v[0] : v[1]])) for n, w, v in _fields(data, *value) if w == 2)
            if entry.get(ENTRY_KEY) == b"location":
                location = entry.get(ENTRY_VALUE, b"").decode("utf-8", "replace")
    return location if external else None


def _walk(data, span, kind: str, depth: int, found: list[str]) -> None:
    if depth > MAX_DEPTH:
        raise ExternalDataError(f"subgraphs nest deeper than {MAX_DEPTH} levels")
    children = {
        "model": {MODEL_GRAPH: "graph", MODEL_FUNCTIONS: "function"},
        "graph": {GRAPH_NODE: "node", GRAPH_INITIALIZER: "tensor", GRAPH_SPARSE_INITIALIZER: "sparse"},
        "function": {FUNCTION_NODE: "node"},
        "node": {NODE_ATTRIBUTE: "attribute"},
        "attribute": {
            ATTRIBUTE_T: "tensor",
            ATTRIBUTE_TENSORS: "tensor",
            ATTRIBUTE_G: "graph",
            ATTRIBUTE_GRAPHS: "graph",
            ATTRIBUTE_SPARSE: "sparse",
            ATTRIBUTE_SPARSE_TENSORS: "sparse",
        },
        "sparse": {SPARSE_VALUES: "tensor", SPARSE_INDICES: "tensor"},
    }[kind]
    for number, wire, value in _fields(data, *span):
        child = children.get(number)
        if child is None or wire != 2:
            continue
        if child == "tensor":
            location = _tensor(data, value)
            if location is not None:
                found.append(location)
        else:
            _walk(data, value, child, depth + 1, found)


def locations(path: Path) -> list[str]:
    """Every external data location the model names, in order, once each."""
    with open(path, "rb") as handle:
        if path.stat().st_size == 0:
            return []
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            found: list[str] = []
            _walk(data, (0, len(data)), "model", 0, found)
    return list(dict.fromkeys(found))


def files(path: Path, name: str) -> dict[str, Path]:
    """The external data files of the model at `path` (relative location -> file), each checked to be a
    file inside the model's folder. `name` is the user's name for the model, for errors."""
    folder = path.resolve().parent
    try:
        wanted = locations(path)
    except ExternalDataError:  # not a readable model: the load stage reads it and says what is wrong with it
        return {}
    found = {}
    for location in wanted:
        relative = PurePosixPath(location.replace("\\", "/"))
        if not location or relative.is_absolute() or ".." in relative.parts or ":" in relative.parts[0]:
            raise ExternalDataError(
                f"{name} keeps weights at {location!r}, outside its folder: external data "
                f"must be a relative path inside the model's folder"
            )
        file = folder / relative
        if not file.is_file():
            raise ExternalDataError(
                f"{name} keeps weights in {location!r}, which is not a file beside it (looked for {file})"
            )
        if not file.resolve().is_relative_to(folder):
            raise ExternalDataError(
                f"{name} keeps weights in {location!r}, a link that leads outside its folder ({file.resolve()})"
            )
        found[relative.as_posix()] = file
    return found
