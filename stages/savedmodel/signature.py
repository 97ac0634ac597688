"""A SavedModel signature's inputs and outputs, matched to the source model's.

Keras' export() names outputs `output_0`…, onnx2tf keeps ONNX names and
moves channels last; stages/match.py pairs them with the source's tensors.
A dynamic batch dimension is described as 1, like every other signature.
"""

from __future__ import annotations

from pathlib import Path

from stages.match import match
from stages.savedmodel.model import signature

NO_QUANTIZATION = (0.0, 0)


def _details(specs: dict) -> list[dict]:
    return [
        {
            "name": name,
            "shape": [1 if d is None else d for d in spec.shape.as_list()],
            "dtype": spec.dtype.name,
            "quantization": NO_QUANTIZATION,
        }
        for name, spec in specs.items()
    ]


def describe(
    path: Path, key: str, inputs: list[dict], outputs: list[dict], moved: bool = False
) -> tuple[list[dict], list[dict]]:
    """The signature's inputs and outputs, in the source's order, with layouts.
    `moved`: made by onnx2tf, which moves channels-first tensors channels-last."""
    _, fn = signature(path, path.name, key)
    return (
        match(_details(fn.structured_input_signature[1]), inputs, "input", path, "always" if moved else None),
        match(_details(fn.structured_outputs), outputs, "output", path, "by_shape" if moved else None),
    )
