"""Open TorchScript and torch.export archives (checked first by archive.expect) and run them.

One `TorchModel` for both: the module to call, its inputs by forward() argument
name with the dimensions the file knows (None where dynamic or unknown), and
for torch.export the ExportedProgram itself.
"""
from __future__ import annotations

import os
import pickle
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stages.errors import StageError
from stages.torch import archive


@dataclass
class TorchModel:
    kind: str                                 # torchscript | torch-export
    module: Any                               # callable: a ScriptModule or the program's GraphModule
    inputs: list[str]                         # forward() argument names, in order
    dims: dict[str, list[int | None] | None]  # per input: known dims, or None when the file does not say
    program: Any = None                       # the ExportedProgram (torch-export)

    @property
    def static_batch(self) -> int | None:
        """The batch size the model is fixed to, or None where the batch is dynamic (or unknown)."""
        batches = {dims[0] for dims in self.dims.values() if dims}
        return next(iter(batches)) if len(batches) == 1 and None not in batches else None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def open_torchscript(path: Path, name: str) -> TorchModel:
    import torch

    archive.expect(path, name, "torchscript")
    try:
        # TorchScript's own C++ unpickler: it resolves only torch types and the archive's compiled classes.
        module = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError, OSError) as exc:
        raise StageError(f"{name} is not a readable TorchScript archive: {_first_line(exc)}") from None
    module.eval()
    inputs = []
    for argument in module.forward.schema.arguments[1:]:   # [0] is self
        if argument.type.kind() == "TensorType":
            inputs.append(argument.name)
        elif not argument.has_default_value():
            raise StageError(f"forward() of {name} takes {argument.name}: {argument.type}; only tensor inputs "
                             f"are supported")
    return TorchModel("torchscript", module, inputs, {n: None for n in inputs})


@contextmanager
def _weights_only_loads():
    """torch.export.load falls back to torch.load(weights_only=False) for some entries: forbid that."""
    saved = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
        else:
            os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = saved


def open_export(path: Path, name: str) -> TorchModel:
    import torch

    archive.expect(path, name, "torch-export")
    try:
        with _weights_only_loads():
            program = torch.export.load(str(path))
    except pickle.UnpicklingError as exc:
        said = [line.strip() for line in str(exc).splitlines() if "Unsupported global" in line]
        raise StageError(f"{name} holds a pickled Python object, which loading would execute "
                         f"({(said or [_first_line(exc)])[0]}); save the model again with torch.export.save") from None
    except Exception as exc:  # the deserializer raises many types on a damaged archive
        raise StageError(f"{name} is not a readable torch.export archive: {_first_line(exc)}") from None
    placeholders = {node.name: node for node in program.graph.nodes if node.op == "placeholder"}
    user_inputs = list(program.graph_signature.user_inputs)
    names = list(program.module_call_graph[0].signature.forward_arg_names or []) \
        if program.module_call_graph and program.module_call_graph[0].signature else []
    if len(names) != len(user_inputs):
        names = user_inputs
    dims = {}
    for arg_name, placeholder in zip(names, user_inputs):
        value = placeholders[placeholder].meta.get("val")
        if not isinstance(value, torch.Tensor):
            raise StageError(f"input {arg_name!r} of {name} is not a tensor ({type(value).__name__}); only tensor "
                             f"inputs are supported")
        if not value.dtype.is_floating_point:
            raise StageError(f"input {arg_name!r} of {name} is {value.dtype}; only float inputs are supported")
        dims[arg_name] = [d if isinstance(d, int) else None for d in value.shape]
    return TorchModel("torch-export", program.module(), names, dims, program)


# The bundle format of a loaded model -> how to open its file.
OPENERS = {"torchscript": open_torchscript, "torch-export": open_export}


def open_model(kind: str, path: Path, name: str) -> TorchModel:
    return OPENERS[kind](path, name)


def output_names(outputs) -> tuple[list[str], list]:
    """Flat outputs and their names: `output`, `output_1`… for tensors and sequences, keys for dicts."""
    import torch
    from torch.utils import _pytree as pytree

    leaves, _ = pytree.tree_flatten_with_path(outputs)
    if len(leaves) == 1 and not leaves[0][0]:
        return ["output"], [leaves[0][1]]
    names, values = [], []
    for index, (keys, value) in enumerate(leaves):
        if not isinstance(value, torch.Tensor):
            raise StageError(f"the model returns a {type(value).__name__} among its outputs; only tensors "
                             f"(or tuples, lists and dicts of them) are supported")
        parts = [str(getattr(k, "key", getattr(k, "idx", k))) for k in keys]
        names.append("_".join(parts) if any(hasattr(k, "key") for k in keys) else
                     ("output" if index == 0 else f"output_{index}"))
        values.append(value)
    return names, values


def forward(model: TorchModel, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's outputs on the feeds, by output name; one sample at a time where the batch is fixed."""
    import torch

    count = len(next(iter(feeds.values())))
    batch = model.static_batch
    if batch not in (None, 1):
        raise StageError(f"the model is fixed to a batch of {batch}; export it with a dynamic batch "
                         f"(dynamic_shapes) or with batch 1")
    chunks = [slice(0, count)] if batch is None else [slice(i, i + 1) for i in range(count)]
    parts: dict[str, list] = {}
    with torch.no_grad():
        for chunk in chunks:
            args = [torch.from_numpy(np.ascontiguousarray(feeds[n][chunk])) for n in model.inputs]
            try:
                names, values = output_names(model.module(*args))
            except StageError:
                raise
            except Exception as exc:  # the model's own error on these inputs
                raise StageError(f"the model fails on inputs shaped "
                                 f"{[tuple(a.shape) for a in args]}: {_first_line(exc)}") from None
            for out_name, value in zip(names, values):
                parts.setdefault(out_name, []).append(value.detach().cpu().numpy())
    return {n: np.concatenate(v) for n, v in parts.items()}
