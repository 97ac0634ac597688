"""A TFLite file's inputs and outputs, matched to the source model's.

onnx2tf's float files keep ONNX input names but call outputs `Identity…` and
carry no signature def; quantized files from TF's converter call tensors
`serving_default_…`/`StatefulPartitionedCall…`. So matching goes by name,
then by (layout-mapped) shape, then by order.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from stages.errors import StageError
from stages.samples import PERMUTATIONS


class TFLiteModel:
    """Runs a TFLite file by tensor name, batch by batch as its input shape allows."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.interpreter = Interpreter(model_path=str(path))
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise StageError(f"{path.name} does not load in LiteRT: {str(exc).splitlines()[0]}") from None
        self.inputs = self.interpreter.get_input_details()
        self.outputs = self.interpreter.get_output_details()

    def __call__(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for details in self.inputs:
            self.interpreter.set_tensor(details["index"], feeds[details["name"]])
        self.interpreter.invoke()
        return {d["name"]: self.interpreter.get_tensor(d["index"]).copy() for d in self.outputs}


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


def _match(details: list[dict], sources: list[dict], what: str, path: Path) -> list[dict]:
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


def describe(path: Path, inputs: list[dict], outputs: list[dict]) -> tuple[list[dict], list[dict]]:
    """The file's inputs and outputs, in the source's order, with layout and quantization."""
    model = TFLiteModel(path)
    return _match(model.inputs, inputs, "input", path), _match(model.outputs, outputs, "output", path)
