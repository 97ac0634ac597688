"""Match a target's tensors to the source model's inputs and outputs, by name.

Each format keeps names somewhere: TFLite signature keys, SavedModel and TFJS
signature keys, ONNX graph names; a stage that renames tensors says how in the
manifest (`name` is the tensor's name in the artifact, `source_name` the
model's own). Matching goes by those names. Where a name is not found, a
tensor is paired by shape only when exactly one tensor of the target can be
it and no other source tensor could take it; among tensors of one shape
nothing is ever guessed: the stage refuses and says the names were lost.

Layouts: a converter that moves channels last (onnx2tf) says how (`moved`):
its inputs always move; an output is taken as channels-last where its shape
is the channels-last one, and refused where both layouts would fit and order
the data differently (C == H == W).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages import layout as layouts
from stages.errors import StageError


def _source_layout(source: dict) -> str | None:
    return source.get("source_layout", source.get("layout"))


def _order_kept(shape: list[int], perm: tuple[int, ...]) -> bool:
    """Whether moving the axes by `perm` leaves the data in the same order (only size-1 axes move)."""
    moved = [i for i in perm if shape[i] != 1]
    return moved == sorted(moved)


def _layout(details: dict, source: dict, what: str, path: Path, moved: str | None) -> str | None:
    """The layout of the target's tensor. `moved`: None (the converter keeps layouts), "always" (it moves
    every channels-first tensor of rank 3-5 channels-last: onnx2tf's inputs), "by_shape" (it may: outputs)."""
    src = _source_layout(source)
    if not moved or not src or layouts.is_channels_last(src) or layouts.swapped(src) is None:
        return source.get("layout", src)
    other = layouts.swapped(src)
    shape, same = [int(d) for d in details["shape"]], [int(d) for d in source["shape"]]
    swapped_shape = layouts.permuted_shape(same, src, other)
    if moved == "always" or (shape == swapped_shape and shape != same):
        return other
    if swapped_shape != same or _order_kept(same, layouts.permutation(src, other)):
        return src
    raise StageError(
        f"{path.name}: cannot tell whether the converter moved {what} {source['source_name']!r} "
        f"{same} channels-last: both layouts have that shape"
    )


def _spec(details: dict, source: dict, what: str, path: Path, moved: str | None, matched_by: str) -> dict:
    scale, zero_point = details.get("quantization") or (0.0, 0)
    spec = {
        "name": details["name"],
        "shape": [int(d) for d in details["shape"]],
        "dtype": np.dtype(details["dtype"]).name,
        "layout": _layout(details, source, what, path, moved),
        "source_layout": _source_layout(source),
        "source_name": source.get("source_name", source["name"]),
        "batch_axis": source.get("batch_axis", 0),
    }
    if matched_by != "name":
        spec["matched_by"] = matched_by
    if scale:
        spec["quantization"] = {"scale": float(scale), "zero_point": int(zero_point)}
    return spec


def fed(graph) -> list:
    """An ONNX graph's inputs that a caller feeds: not those with an initializer, which are defaults
    (tf2onnx writes a PlaceholderWithDefault, a checkpoint's `is_training`, as both)."""
    defaults = {init.name for init in graph.initializer}
    return [value for value in graph.input if value.name not in defaults]


def renamed(specs: list[dict], values, expected: list[set[str]] | None = None) -> list[dict]:
    """The manifest's tensor specs, in order, named as an exported graph's inputs or outputs
    (ONNX `graph.input`/`graph.output`); the source's name stays as `source_name`.

    `expected`: per spec, the names the exporter gives its tensor (tf2onnx names them after the
    TF or TFLite tensors); without it the exporter was given the names and order (torch, MXNet).
    A lone tensor needs no name to be paired."""
    values = list(values)
    if expected is None and len(values) != len(specs):
        raise StageError(
            f"the exported ONNX graph has {[v.name for v in values]}; the source has "
            f"{[s.get('source_name', s['name']) for s in specs]}: not one for one"
        )
    if expected is None or len(specs) == len(values) == 1:
        return [
            {**spec, "name": value.name, "source_name": spec.get("source_name", spec["name"])}
            for value, spec in zip(values, specs, strict=True)
        ]
    named = []
    for spec, names in zip(specs, expected, strict=True):
        value = next((v for v in values if v.name in names), None)
        if value is None:
            raise StageError(
                f"the exported ONNX graph has {[v.name for v in values]}; none is the source's "
                f"{spec.get('source_name', spec['name'])!r} (looked for {sorted(names)})"
            )
        named.append({**spec, "name": value.name, "source_name": spec.get("source_name", spec["name"])})
    return named


def _shapes(source: dict) -> list[list[int]]:
    """The shapes a target tensor standing for `source` may have: as it is, or with channels moved."""
    same = [int(d) for d in source["shape"]]
    lay = source.get("layout", _source_layout(source))
    return [same, layouts.permuted_shape(same, lay, layouts.swapped(lay))]


def match(details: list[dict], sources: list[dict], what: str, path: Path, moved: str | None = None) -> list[dict]:
    """`details`: the target's tensors as dicts of name, shape, dtype and (scale, zero_point) quantization.

    `moved`: how the converter moved layouts (see _layout)."""
    remaining = list(details)
    picked: dict[int, tuple[dict, str]] = {}
    for index, source in enumerate(sources):
        names = {source["name"], source.get("source_name", source["name"])}
        pick = next((d for d in remaining if d["name"] in names), None)
        if pick is not None:
            remaining.remove(pick)
            picked[index] = (pick, "name")
    for index, source in enumerate(sources):
        if index in picked:
            continue
        fits = [d for d in remaining if [int(x) for x in d["shape"]] in _shapes(source)]
        rivals = [
            s
            for i, s in enumerate(sources)
            if i != index and i not in picked and any([int(x) for x in d["shape"]] in _shapes(s) for d in fits)
        ]
        if len(fits) != 1 or rivals:
            shown = [(d["name"], [int(x) for x in d["shape"]]) for d in remaining]
            why = (
                "names were lost and several have its shape: refusing to guess"
                if len(fits) > 1 or rivals
                else "none has its name or shape"
            )
            raise StageError(
                f"{path.name}: no {what} matches the source's {source['source_name']!r} "
                f"{source['shape']} by name; it has {shown} ({why})"
            )
        remaining.remove(fits[0])
        picked[index] = (fits[0], "shape (the artifact lost the name)")
    return [_spec(picked[i][0], source, what, path, moved, picked[i][1]) for i, source in enumerate(sources)]
