"""A TFLite file's inputs and outputs, matched to the source model's.

onnx2tf's float files keep ONNX input names but call outputs `Identity…` and
carry no signature def; quantized files from TF's converter call tensors
`serving_default_…`/`StatefulPartitionedCall…`: see stages/match.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from stages.errors import StageError
from stages.match import match


class TFLiteModel:
    """Runs a TFLite file by name: its signature's keys where it has one signature (the names
    users know), else its tensors' names; batch by batch as its input shape allows."""

    def __init__(self, path: Path, keep_all_tensors: bool = False):
        """`keep_all_tensors`: every intermediate tensor stays readable after a run (for diagnosis)."""
        self.path = path
        try:
            # On every core the stage was given (LiteRT's default is one thread).
            self.interpreter = Interpreter(
                model_path=str(path),
                experimental_preserve_all_tensors=keep_all_tensors,
                num_threads=len(os.sched_getaffinity(0)),
            )
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise StageError(f"{path.name} does not load in LiteRT: {str(exc).splitlines()[0]}") from None
        signatures = self.interpreter.get_signature_list()
        self.runner = self.interpreter.get_signature_runner(next(iter(signatures))) if len(signatures) == 1 else None
        if self.runner is not None:
            self.inputs = [
                {**d, "name": key, "tensor": d["name"]} for key, d in self.runner.get_input_details().items()
            ]
            self.outputs = [
                {**d, "name": key, "tensor": d["name"]} for key, d in self.runner.get_output_details().items()
            ]
        else:
            self.inputs = self.interpreter.get_input_details()
            self.outputs = self.interpreter.get_output_details()

    def __call__(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.runner is not None:
            try:
                return {key: np.asarray(value).copy() for key, value in self.runner(**feeds).items()}
            except ValueError as exc:  # the run is done; an output of no elements may be what could not be read
                subgraph = getattr(self.runner, "_subgraph_index", 0)
                return _outputs(
                    self.runner.get_output_details(), lambda d: self.interpreter.get_tensor(d["index"], subgraph), exc
                )
        for details in self.inputs:
            self.interpreter.set_tensor(details["index"], feeds[details["name"]])
        self.interpreter.invoke()
        try:
            return {d["name"]: self.interpreter.get_tensor(d["index"]).copy() for d in self.outputs}
        except ValueError as exc:
            return _outputs(
                {d["name"]: d for d in self.interpreter.get_output_details()},
                lambda d: self.interpreter.get_tensor(d["index"]),
                exc,
            )


def _outputs(details: dict[str, dict], get, refusal: ValueError) -> dict[str, np.ndarray]:
    """The outputs after a run, where LiteRT's get_tensor refused one: it refuses a tensor of no elements
    ("Invalid tensor size"), whose value is its shape's empty array. Any other refusal is raised."""
    if not any(0 in d["shape"] for d in details.values()):
        raise refusal
    return {
        key: np.zeros(d["shape"], d["dtype"]) if 0 in d["shape"] else np.asarray(get(d)).copy()
        for key, d in details.items()
    }


def describe(path: Path, inputs: list[dict], outputs: list[dict], moved: bool = False) -> tuple[list[dict], list[dict]]:
    """The file's inputs and outputs, in the source's order, with layout and quantization.
    `moved`: made by onnx2tf, which moves channels-first tensors channels-last."""
    model = TFLiteModel(path)
    return (
        match(model.inputs, inputs, "input", path, "always" if moved else None),
        match(model.outputs, outputs, "output", path, "by_shape" if moved else None),
    )
