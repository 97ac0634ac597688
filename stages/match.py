"""Match a target's tensors to the source model's inputs and outputs.

Converters rename tensors (onnx2tf's `Identity…`, TF's `serving_default_…`,
a SavedModel signature's `output_0`) and move channels last. So matching goes
by name, then by (layout-mapped) shape; each matched spec keeps
the source's name and layout so runners can map samples both ways.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.errors import StageError
from stages.samples import PERMUTATIONS


def _nhwc(shape: list[int]) -> list[int]:
    return [shape[i] for i in PERMUTATIONS[("NCHW", "NHWC")]] if len(shape) == 4 else list(shape)


def _spec(details: dict, source: dict) -> dict:
    scale, zero_point = details["quantization"]
    shape = [int(d) for d in details["shape"]]
    nhwc = len(shape) == 4 and source.get("layout") == "NCHW" and shape != list(source["shape"])
    spec = {"name": details["name"], "shape": shape, "dtype": np.dtype(details["dtype"]).name,
            "layout": "NHWC" if nhwc else source.get("layout"),
            "source_layout": source.get("source_layout", source.get("layout")),
            "source_name": source.get("source_name", source["name"])}
    if scale:
        spec["quantization"] = {"scale": float(scale), "zero_point": int(zero_point)}
    return spec


def renamed(specs: list[dict], values) -> list[dict]:
    """The manifest's tensor specs, in order, named as an exported graph's inputs or outputs
    (ONNX `graph.input`/`graph.output`); the source's name stays as `source_name`."""
    return [{**spec, "name": value.name, "source_name": spec.get("source_name", spec["name"])}
            for value, spec in zip(values, specs)]


def match(details: list[dict], sources: list[dict], what: str, path: Path) -> list[dict]:
    """`details`: the target's tensors as dicts of name, shape, dtype and (scale, zero_point) quantization."""
    remaining = list(details)
    matched = []
    for source in sources:
        names = {source["name"], source.get("source_name", source["name"])}
        shapes = ([int(x) for x in source["shape"]], _nhwc(source["shape"]))
        pick = (next((d for d in remaining if d["name"] in names), None)
                or next((d for d in remaining if [int(x) for x in d["shape"]] in shapes), None))
        if pick is None:
            raise StageError(f"{path.name}: no {what} matches the source's {source['name']!r} "
                             f"{source['shape']}; it has {[(d['name'], list(d['shape'])) for d in remaining]}")
        remaining.remove(pick)
        matched.append(_spec(pick, source))
    return matched
