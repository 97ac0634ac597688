"""Open TorchScript and torch.export archives (checked first by archive.expect) and run them.

One `TorchModel` for both: the module to call, its inputs by forward() argument
name with the dimensions the file knows (None where dynamic or unknown), and
for torch.export the ExportedProgram itself.
"""

from __future__ import annotations

import os
import pickle
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stages.errors import StageError
from stages.torch import allowlist, archive
from stages.trust.policy import verdict


@dataclass
class TorchModel:
    kind: str  # torchscript | torch-export
    module: Any  # callable: a ScriptModule or the program's GraphModule
    inputs: list[str]  # forward() argument names, in order
    dims: dict[str, list[int | None] | None]  # per input: known dims, or None when the file does not say
    program: Any = None  # the ExportedProgram (torch-export)
    bound: dict[str, Any] = field(default_factory=dict)  # forward() arguments fixed by --bind
    arguments: list[str] = field(default_factory=list)  # every forward() argument, in order
    batch_axes: dict[str, int | None] = field(default_factory=dict)  # per input (from the manifest)
    dtypes: dict[str, str | None] = field(default_factory=dict)  # per input, where the file says (torch.export)
    trust: dict = field(default_factory=dict)  # what the allowlist check recorded

    def call_args(self, tensors: dict) -> list:
        """forward()'s positional arguments: the tensors by name, the bound constants in their places."""
        order = self.arguments or self.inputs
        return [tensors[name] if name in tensors else self.bound[name] for name in order]

    @property
    def static_batch(self) -> int | None:
        """The batch size the model is fixed to, or None where the batch is dynamic (or unknown)."""
        batches = {dims[0] for dims in self.dims.values() if dims}
        return next(iter(batches)) if len(batches) == 1 and None not in batches else None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def reason(exc: BaseException) -> str:
    """The framework's own reason, on one line: the TorchScript interpreter's first line only says that an
    operation failed, and its last line says why (an embedding given a FloatTensor)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if len(lines) > 1 and "TorchScript interpreter" in lines[0]:
        return f"{lines[0]} {lines[-1]}"
    return lines[0]


SCALARS = {"IntType": int, "FloatType": float, "BoolType": bool}


def open_torchscript(path: Path, name: str, bind: dict | None = None, trusted: bool = False) -> TorchModel:
    import torch

    archive.expect(path, name, "torchscript")
    # The code is read before torch.jit.load, which compiles it and runs __setstate__ methods.
    trust = verdict(allowlist.check_torchscript_code(path), name, trusted)
    try:
        # TorchScript's own C++ unpickler: it resolves only torch types and the archive's compiled classes.
        module = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError, OSError) as exc:
        raise StageError(f"{name} is not a readable TorchScript archive: {_first_line(exc)}") from None
    module.eval()
    found = allowlist.check_torchscript_graph(module.inlined_graph)  # forward() with every call inlined
    if found:  # ops the code did not name, but the compiled graph holds
        trust["let_through"] = [*trust.get("let_through", []), *verdict(found, name, trusted)["let_through"]]
    bind = dict(bind or {})
    inputs, bound, arguments = [], {}, []
    for argument in module.forward.schema.arguments[1:]:  # [0] is self
        kind = argument.type.kind()
        if argument.name in bind:
            if kind not in SCALARS or isinstance(bind[argument.name], list):
                raise StageError(
                    f"--bind {argument.name}: forward() of {name} takes {argument.name}: "
                    f"{argument.type}; only int, float and bool arguments can be bound"
                )
            bound[argument.name] = SCALARS[kind](bind.pop(argument.name))
        elif kind == "TensorType":
            inputs.append(argument.name)
        elif argument.has_default_value():
            continue
        else:
            fix = f"; fix it with --bind {argument.name}=VALUE" if kind in SCALARS else ""
            raise StageError(f"forward() of {name} takes {argument.name}: {argument.type}, not a tensor{fix}")
        arguments.append(argument.name)
    if bind:
        raise StageError(
            f"--bind names {sorted(bind)}, but forward() of {name} takes "
            f"{[a.name for a in module.forward.schema.arguments[1:]]}"
        )
    return TorchModel(
        "torchscript", module, inputs, {n: None for n in inputs}, bound=bound, arguments=arguments, trust=trust
    )


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


def open_export(path: Path, name: str, trusted: bool = False) -> TorchModel:
    import torch

    archive.expect(path, name, "torch-export")
    trust = verdict(allowlist.check_export(path), name, trusted)  # before torch.export.load builds the graph
    try:
        with _weights_only_loads():
            program = torch.export.load(str(path))
    except pickle.UnpicklingError as exc:
        said = [line.strip() for line in str(exc).splitlines() if "Unsupported global" in line]
        raise StageError(
            f"{name} holds a pickled Python object, which loading would execute "
            f"({(said or [_first_line(exc)])[0]}); save the model again with torch.export.save"
        ) from None
    except Exception as exc:  # the deserializer raises many types on a damaged archive
        raise StageError(f"{name} is not a readable torch.export archive: {_first_line(exc)}") from None
    placeholders = {node.name: node for node in program.graph.nodes if node.op == "placeholder"}
    user_inputs = list(program.graph_signature.user_inputs)
    names = (
        list(program.module_call_graph[0].signature.forward_arg_names or [])
        if program.module_call_graph and program.module_call_graph[0].signature
        else []
    )
    if len(names) != len(user_inputs):
        names = user_inputs
    dims, dtypes = {}, {}
    for arg_name, placeholder in zip(names, user_inputs, strict=True):
        value = placeholders[placeholder].meta.get("val")
        if not isinstance(value, torch.Tensor):
            raise StageError(
                f"input {arg_name!r} of {name} is not a tensor ({type(value).__name__}); only tensor "
                f"inputs are supported"
            )
        dtypes[arg_name] = numpy_dtype(value.dtype, f"input {arg_name!r} of {name}")
        dims[arg_name] = [d if isinstance(d, int) else None for d in value.shape]
    return TorchModel("torch-export", program.module(), names, dims, program, dtypes=dtypes, trust=trust)


def numpy_dtype(dtype, what: str) -> str:
    """A torch dtype's numpy name (torch.int64 -> int64); complex and quantized dtypes are refused."""
    import torch

    known = {
        torch.float32: "float32",
        torch.float64: "float64",
        torch.float16: "float16",
        torch.int64: "int64",
        torch.int32: "int32",
        torch.int16: "int16",
        torch.int8: "int8",
        torch.uint8: "uint8",
        torch.bool: "bool",
    }
    if dtype not in known:
        raise StageError(f"{what} is {dtype}; modelferry feeds float, integer and boolean inputs")
    return known[dtype]


# The bundle format of a loaded model -> how to open its file.
OPENERS = {"torchscript": open_torchscript, "torch-export": open_export}


def open_model(kind: str, path: Path, name: str, bind: dict | None = None, trusted: bool = False) -> TorchModel:
    if kind == "torchscript":
        return open_torchscript(path, name, bind, trusted)
    if bind:
        raise StageError(
            f"--bind applies to TorchScript forward() arguments and ONNX inputs; {name} is a "
            f"torch.export program, whose non-tensor arguments were fixed when it was exported"
        )
    return OPENERS[kind](path, name, trusted)


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
            raise StageError(
                f"the model returns a {type(value).__name__} among its outputs; only tensors "
                f"(or tuples, lists and dicts of them) are supported"
            )
        parts = [str(getattr(k, "key", getattr(k, "idx", k))) for k in keys]
        names.append(
            "_".join(parts) if any(hasattr(k, "key") for k in keys) else ("output" if index == 0 else f"output_{index}")
        )
        values.append(value)
    return names, values


def forward(model: TorchModel, feeds: dict[str, np.ndarray], specs: list[dict] | None = None) -> dict[str, np.ndarray]:
    """The model's outputs on the feeds, by output name; one sample at a time where the batch is fixed."""
    import torch

    from stages import feeding

    batch = model.static_batch
    if batch not in (None, 1):
        raise StageError(
            f"the model is fixed to a batch of {batch}; export it with a dynamic batch (dynamic_shapes) or with batch 1"
        )

    def call(run: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = {n: torch.from_numpy(np.ascontiguousarray(run[n])) for n in model.inputs}
        try:
            with torch.no_grad():
                names, values = output_names(model.module(*model.call_args(tensors)))
        except StageError:
            raise
        except Exception as exc:  # the model's own error on these inputs
            shapes = ", ".join(f"{n}: {str(a.dtype).replace('torch.', '')}{list(a.shape)}" for n, a in tensors.items())
            hint = (
                "; TorchScript does not record its inputs' dtypes: give an integer input's with --input-dtype "
                "NAME:int64"
                if model.kind == "torchscript" and any(a.dtype.is_floating_point for a in tensors.values())
                else ""
            )
            raise StageError(f"the model fails on inputs {shapes}: {reason(exc)}{hint}") from None
        return {out_name: value.detach().cpu().numpy() for out_name, value in zip(names, values, strict=True)}

    return feeding.run_all(
        call, feeds, specs or [{"name": n, "source_name": n} for n in model.inputs], batched=batch is None
    )
