"""MIL values as numpy: a constant written in the program (ImmediateValue) or in the blob file
(BlobFileValue), typed by its ValueType. Every float is held as float32 (fp16 values are widened: the
interpreter's math is fp32); integers as int32 or int64, as MIL declares them."""

from __future__ import annotations

import numpy as np

from stages.errors import StageError

# MIL DataType names -> numpy. Floats of any width are computed in float32; FLOAT16 is remembered so an op
# declared to make fp16 has its result rounded to fp16 (program.py).
NUMPY = {
    "BOOL": np.bool_,
    "STRING": np.str_,
    "FLOAT16": np.float32,
    "FLOAT32": np.float32,
    "FLOAT64": np.float32,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
}
# how TensorValue stores each type: its field, and the dtype of `bytes` where the values are packed
PACKED = {"FLOAT16": np.float16, "INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16, "UINT16": np.uint16}


def dtype_name(value_type) -> str:
    from coremltools.proto import MIL_pb2

    return MIL_pb2.DataType.Name(value_type.tensorType.dataType)


def shape(value_type) -> tuple[int, ...] | None:
    """The tensor's shape, or None where a dimension is not a constant."""
    dims = value_type.tensorType.dimensions
    if any(not dim.HasField("constant") for dim in dims):
        return None
    return tuple(int(dim.constant.size) for dim in dims)


def _tensor(tensor, name: str) -> np.ndarray:
    field = tensor.WhichOneof("value")
    if field is None:
        return np.zeros((0,), np.float32)
    values = getattr(tensor, field).values
    if field == "bytes":
        return np.frombuffer(values, dtype=PACKED.get(name, np.uint8))
    if field == "strings":
        return np.array(list(values), dtype=object)
    return np.asarray(list(values))


def decode(value, blobs, what: str):
    """One Value: a numpy array (the shape its type declares), a string, or a list of them."""
    kind = value.type.WhichOneof("type")
    if kind == "listType" or value.immediateValue.WhichOneof("value") in ("list", "tuple"):
        raise StageError(f"{what}: list and tuple constants are not supported by the interpreter")
    name = dtype_name(value.type)
    if value.WhichOneof("value") == "blobFileValue":
        flat = blobs(value.blobFileValue.fileName).read(int(value.blobFileValue.offset))
    else:
        flat = _tensor(value.immediateValue.tensor, name)
    if name == "STRING":
        return str(flat[0]) if value.type.tensorType.rank == 0 else [str(s) for s in flat]
    if name not in NUMPY:
        raise StageError(f"{what}: constants of type {name} are not supported by the interpreter")
    dims = shape(value.type)
    array = flat.astype(NUMPY[name])
    return array.reshape(dims) if dims is not None else array
