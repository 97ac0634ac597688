"""What crosses a process between stages: a bundle's manifest and its tensor specs, typed and versioned.

A stage writes `manifest.json` last (stages/__main__.py); the next stage, in another runtime and perhaps
another Python (the caffe image's is 3.9), reads it back (stages/bundle.py). The types here are
TypedDicts: the manifest stays the JSON object it is on disk, and a type checker reads every
`spec["shape"]` against its declaration.

`schema_version` says which contract a manifest was written under. A bundle of another version is never
read as this one: the bundle cache's keys hold the version (an old bundle is simply not found, and the
stage runs again), and `checked` refuses any other that reaches a stage, naming it.

Version history:
  1: the first versioned contract (the fields below).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict, Union

from stages.errors import StageError

SCHEMA_VERSION = 1
SERVING_SIGNATURE = "serving_default"  # a TF SavedModel's signature where the user or the manifest names none


class _TensorRequired(TypedDict):
    name: str  # the name in this artifact's format
    shape: List[Union[int, str, None]]  # -1 or None (or a symbol) where a dimension is dynamic
    dtype: str  # numpy's name: float32, int64, uint8, …


class TensorSpec(_TensorRequired, total=False):
    """One input or output of a bundle's model."""

    source_name: str  # the source model's name for it: tensors are matched by name, never guessed
    layout: Optional[str]  # NCHW, NHWC, NCW, …: this artifact's; None where it is not an image-like tensor
    source_layout: Optional[str]  # the source's layout (golden outputs and samples are in it)
    batch_axis: Optional[int]  # the axis samples are stacked on; None for a tensor without one
    unbatched: bool  # the model takes no batch axis (a batch of 1 is added to feed it)
    source_dtype: str  # the source's dtype where this artifact's differs (int64 ids as int32)
    quantization: Any  # (scale, zero_point) of a quantized tensor, as its runtime says it
    note: str  # what was done to it on the way, for the report
    matched_by: str  # how it was matched to the source's tensor (stages/match.py)


class _ManifestRequired(TypedDict):
    format: str  # the bundle's format: a source's, "onnx", a target's
    files: Dict[str, str]  # file (or folder) name by role: model, weights, samples, golden, …


class Manifest(_ManifestRequired, total=False):
    """A finished bundle's `manifest.json`."""

    schema_version: int
    inputs: List[TensorSpec]
    outputs: List[TensorSpec]
    precision: str  # fp32, fp16, int8, dynamic
    preprocess: Dict[str, Any]  # what was stripped from the graph and is applied to the samples instead
    source: Dict[str, Any]  # the user's model: its file, format, name
    noise_floor: Dict[str, float]  # per output: how far the source moves under a nudge of its inputs
    samples_info: Dict[str, Any]  # what the samples are (made up, pictures, the user's)
    legalized: Dict[str, Any]  # what ONNX legalization rewrote (stages/onnx/legalize)
    metrics: Dict[str, Any]  # what the stage measured (parity, latency, …)
    provenance: Dict[str, Any]  # the stage, its image and runtime, its tools' versions, its inputs' hashes
    signature: str  # a SavedModel's or TFJS model's serving signature
    user_files: Dict[str, str]  # the user's file names, by role
    picture_roles: List[str]  # roles whose file holds pictures, decoded
    writer: str  # what wrote the artifact
    inspection: Dict[str, Any]  # `modelferry inspect`'s findings
    read: Dict[str, Any]  # how a source was read
    beside: List[str]  # files the source keeps beside its model file


class ManifestError(StageError):
    """A manifest that is not this contract's: another version, or a field of the wrong kind."""


_TENSOR_TYPES = {"name": str, "shape": list, "dtype": str}
_MANIFEST_TYPES = {"format": str, "files": dict, "inputs": list, "outputs": list, "precision": str}


def signature_of(manifest: dict, given: Optional[str] = None) -> str:
    """The SavedModel signature a bundle's model is called by: its manifest's, else the user's, else the default."""
    return manifest.get("signature") or given or SERVING_SIGNATURE


def stamped(manifest: dict) -> Manifest:
    """The manifest a stage wrote, with the version of the contract it was written under."""
    return {**manifest, "schema_version": SCHEMA_VERSION}  # type: ignore[typeddict-item]


def checked(manifest: dict, where: str) -> Manifest:
    """`manifest` as this contract's, or ManifestError naming `where` and what is wrong."""
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        written = f"schema {version}" if version is not None else "no schema version (before versions)"
        raise ManifestError(
            f"{where} was written with {written}; this modelferry reads schema {SCHEMA_VERSION}: "
            f"convert again (its cache keys hold the version, so the stage runs anew)"
        )
    for key in ("format", "files"):
        if key not in manifest:
            raise ManifestError(f"{where} has no {key!r}")
    _types(manifest, _MANIFEST_TYPES, where)
    for side in ("inputs", "outputs"):
        for index, spec in enumerate(manifest.get(side) or []):
            shown = f"{where}: {side}[{index}]"
            if not isinstance(spec, dict) or any(key not in spec for key in _TENSOR_TYPES):
                raise ManifestError(f"{shown} is not a tensor spec (name, shape, dtype)")
            _types(spec, _TENSOR_TYPES, shown)
    return manifest  # type: ignore[return-value]


def _types(data: dict, types: dict, where: str) -> None:
    for key, kind in types.items():
        if key in data and not isinstance(data[key], kind):
            raise ManifestError(f"{where}: {key!r} is {type(data[key]).__name__}, not {kind.__name__}")
