"""The PyTorch folder made by emit/pytorch, run for validation: its model.pt2 (torch.export.load, checked
against PyTorch's allowlist first and loaded weights-only, as a torch.export source is), under no_grad."""

from __future__ import annotations

import json

import numpy as np

from stages.bundle import Bundle
from stages.errors import StageError
from stages.validate.runners import run_samples as feed


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import torch

    from stages.torch.model import open_export, reason

    path = bundle.file("pt2")
    model = open_export(path, path.name)
    names = json.loads(bundle.file("names").read_text())
    arguments, outputs = list(names["inputs"].values()), names["outputs"]  # the manifest's inputs are these
    batched = [spec for spec in bundle.manifest["inputs"] if spec.get("batch_axis") is not None]
    dynamic = bool(batched) and all(model.dims[spec["name"]][spec["batch_axis"]] is None for spec in batched)

    def call(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = [torch.from_numpy(np.ascontiguousarray(inputs[name])) for name in arguments]
        try:
            with torch.no_grad():
                result = model.module(*tensors)
        except Exception as exc:  # the program's own error on these inputs
            raise StageError(f"{path.name} fails on inputs {[list(t.shape) for t in tensors]}: {reason(exc)}") from None
        result = list(result) if isinstance(result, (tuple, list)) else [result]
        return {name: result[index].detach().numpy() for name, index in outputs.items()}

    return feed(call, bundle, feeds, batched=dynamic)
