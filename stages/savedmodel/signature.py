"""A SavedModel signature's inputs and outputs, matched to the source model's.

Read from saved_model.pb's SignatureDef (nothing is loaded). onnx2tf keeps ONNX names and moves channels
last; stages/match.py pairs them with the source's tensors. A dynamic batch dimension is described as 1,
like every other signature.
"""

from __future__ import annotations

from pathlib import Path

from stages.errors import StageError
from stages.graphdef.model import shape_and_dtype
from stages.match import match
from stages.savedmodel.model import signature_def

NO_QUANTIZATION = (0.0, 0)


def _details(infos, where: str) -> list[dict]:
    """TensorInfos (a SignatureDef's inputs or outputs, in its order) as the manifest describes tensors."""
    details = []
    for name, info in infos.items():
        dims, dtype = shape_and_dtype(info.tensor_shape, info.dtype)
        if dims is None:
            raise StageError(f"{where}: the signature's tensor {name!r} has no known rank")
        details.append(
            {
                "name": name,
                "shape": [1 if d is None else d for d in dims],
                "dtype": dtype,
                "quantization": NO_QUANTIZATION,
            }
        )
    return details


def describe(
    path: Path, key: str, inputs: list[dict], outputs: list[dict], moved: bool = False
) -> tuple[list[dict], list[dict]]:
    """The signature's inputs and outputs, in the source's order, with layouts.
    `moved`: made by onnx2tf, which moves channels-first tensors channels-last."""
    found = signature_def(path, path.name, key)
    return (
        match(_details(found.inputs, path.name), inputs, "input", path, "always" if moved else None),
        match(_details(found.outputs, path.name), outputs, "output", path, "by_shape" if moved else None),
    )
