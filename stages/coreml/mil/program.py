"""A saved ML program (.mlpackage) read and run: its `main` function's block, operation by operation, in
numpy. Constants come from the program or its blob file; every other op goes to its handler (ops/)."""

from __future__ import annotations

import json
from collections import ChainMap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stages.coreml.mil import values
from stages.coreml.mil.blob import BlobFile
from stages.coreml.mil.ops import HANDLERS
from stages.coreml.mil.ops.call import Call
from stages.errors import StageError

MODEL_PATH = "@model_path/"


class Unsupported(StageError):
    """An op of the program the interpreter has no handler for."""


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str  # MIL data type: FLOAT32, FLOAT16, INT32, BOOL …
    shape: tuple[int, ...] | None  # None where the program leaves a dimension open


def model_file(package: Path) -> Path:
    """The Model protobuf of an .mlpackage, where its Manifest.json's root item says it lies."""
    try:
        manifest = json.loads((package / "Manifest.json").read_text())
        item = manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]
    except (OSError, ValueError, KeyError) as exc:
        raise StageError(f"{package.name} is not an .mlpackage: no readable Manifest.json root model ({exc})") from None
    path = (package / "Data" / item["path"]).resolve()
    if not path.is_relative_to(package.resolve()) or not path.is_file():
        raise StageError(f"{package.name}: its root model {item['path']} is not a file inside the package")
    return path


def _stored(value, dtype: str):
    """An op's result as the program holds it: float32 (rounded to fp16 where declared fp16), integers in
    MIL's own width; a list (make_list …) as it is."""
    if isinstance(value, list):
        return value
    array = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    elif array.dtype.kind in "iub" and dtype in values.NUMPY and dtype != "STRING":
        array = array.astype(values.NUMPY[dtype])  # numpy's int64 back to MIL's int32
    return _round(array, dtype)


def _round(array, dtype: str):
    """An fp16 value as Core ML stores it: rounded to fp16, held (and computed on) as fp32."""
    if dtype == "FLOAT16" and isinstance(array, np.ndarray) and array.dtype.kind == "f":
        return array.astype(np.float16).astype(np.float32)
    return array


class Program:
    def __init__(self, package: Path):
        from coremltools.proto import Model_pb2

        self.package = package
        path = model_file(package)
        spec = Model_pb2.Model()
        try:
            spec.ParseFromString(path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
            raise StageError(f"{package.name}: its model protobuf does not parse ({exc})") from None
        if spec.WhichOneof("Type") != "mlProgram":
            raise StageError(f"{package.name} holds a {spec.WhichOneof('Type')} model, not an ML program")
        function = spec.mlProgram.functions.get("main")
        if function is None:
            raise StageError(f"{package.name}: the ML program has no main function")
        self.block = function.block_specializations[function.opset]
        self.opset = function.opset
        self.inputs = [Tensor(v.name, values.dtype_name(v.type), values.shape(v.type)) for v in function.inputs]
        self.outputs = list(self.block.outputs)
        self._root = path.parent
        self._blobs: dict[str, BlobFile] = {}

    def blobs(self, file_name: str) -> BlobFile:
        if file_name not in self._blobs:
            relative = file_name[len(MODEL_PATH) :] if file_name.startswith(MODEL_PATH) else file_name
            path = (self._root / relative).resolve()
            if not path.is_relative_to(self.package.resolve()) or not path.is_file():
                raise StageError(f"{self.package.name}: weight file {file_name} is not a file inside the package")
            self._blobs[file_name] = BlobFile(path)
        return self._blobs[file_name]

    def operations(self, block=None):
        """Every operation of the program, those of nested blocks (loop bodies, branches) after their op."""
        for op in (block or self.block).operations:
            yield op
            for nested in op.blocks:
                yield from self.operations(nested)

    def op_types(self) -> list[str]:
        return [op.type for op in self.operations()]

    def unsupported(self) -> list[tuple[str, str]]:
        """(op type, the value it makes) of each op no handler runs, in program order."""
        return [
            (op.type, op.outputs[0].name if op.outputs else "")
            for op in self.operations()
            if op.type != "const" and op.type not in HANDLERS
        ]

    def _argument(self, argument, env, what: str):
        found = []
        for binding in argument.arguments:
            if binding.WhichOneof("binding") == "name":
                found.append(env[binding.name])
            else:
                found.append(values.decode(binding.value, self.blobs, what))
        return found[0] if len(found) == 1 else tuple(found)

    def _nested(self, block, env):
        """A nested block as a function of its inputs' values -> its outputs' values; it sees the values of
        the scopes around it."""

        def run(inputs) -> list:
            scope = ChainMap({var.name: value for var, value in zip(block.inputs, inputs, strict=True)}, env)
            self._operations(block.operations, scope)
            return [scope[name] for name in block.outputs]

        return run

    def _operations(self, operations, env) -> None:
        for op in operations:
            names = [output.name for output in op.outputs]
            if op.type == "const":
                env[names[0]] = values.decode(op.attributes["val"], self.blobs, f"constant {names[0]}")
                continue
            call = Call(
                op.type,
                {
                    parameter: self._argument(argument, env, f"{op.type} {names[0]}")
                    for parameter, argument in op.inputs.items()
                },
                names,
                [values.dtype_name(output.type) for output in op.outputs],
                [values.shape(output.type) for output in op.outputs],
                [self._nested(block, env) for block in op.blocks],
            )
            try:
                result = HANDLERS[op.type](call)
            except StageError:
                raise
            except Exception as exc:  # numpy's own complaint about shapes or values
                raise StageError(
                    f"MIL op {op.type} (making {names[0]!r}) fails in the interpreter: {type(exc).__name__}: {exc}"
                ) from None
            results = result if isinstance(result, tuple) else (result,)
            for name, dtype, value in zip(names, call.out_dtypes, results, strict=True):
                env[name] = _stored(value, dtype)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = self.unsupported()
        if missing:
            op_type, made = missing[0]
            raise Unsupported(
                f"the Core ML program {self.package.name} uses MIL op {op_type} (making {made!r}), "
                f"which modelferry's MIL interpreter does not know"
            )
        absent = [tensor.name for tensor in self.inputs if tensor.name not in feeds]
        if absent:
            raise StageError(
                f"the Core ML program {self.package.name} takes {[t.name for t in self.inputs]}; nothing feeds {absent}"
            )
        env: dict = {}
        for tensor in self.inputs:
            env[tensor.name] = _round(np.asarray(feeds[tensor.name]).astype(values.NUMPY[tensor.dtype]), tensor.dtype)
        self._operations(self.block.operations, env)
        return {name: env[name] for name in self.outputs}
