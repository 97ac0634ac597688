"""The weights' blob file (weights/weight.bin) of an ML program, read in numpy.

MILBlob's storage format (coremltools, mlmodel/src/MILBlob/Blob/StorageFormat.hpp): a 64-byte header
{uint32 count, uint32 version = 2, 7 x uint64 reserved}; each blob's BlobFileValue offset points at a
64-byte metadata record {uint32 sentinel 0xDEADBEEF, uint32 data type, uint64 size in bytes, uint64 offset
of the data, uint64 padding in bits, 4 x uint64 reserved}, the data at that offset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.errors import StageError

SENTINEL = 0xDEADBEEF
METADATA = np.dtype(
    [
        ("sentinel", "<u4"),
        ("dtype", "<u4"),
        ("size", "<u8"),
        ("offset", "<u8"),
        ("padding_bits", "<u8"),
        ("reserved", "<u8", (4,)),
    ]
)
# MILBlob's BlobDataType -> numpy (the whole-byte types; sub-byte palettes are not emitted for fp32/fp16 programs)
DTYPES = {1: np.float16, 2: np.float32, 3: np.uint8, 4: np.int8, 6: np.int16, 7: np.uint16, 14: np.int32, 15: np.uint32}


class BlobFile:
    def __init__(self, path: Path):
        self.path = path
        self.data = np.fromfile(path, dtype=np.uint8)
        count, version = self.data[:8].view("<u4")
        if version != 2:
            raise StageError(f"{path.name}: blob storage version {version}, not 2")

    def read(self, offset: int) -> np.ndarray:
        meta = self.data[offset : offset + METADATA.itemsize].view(METADATA)[0]
        if int(meta["sentinel"]) != SENTINEL:
            raise StageError(f"{self.path.name}: no blob at offset {offset}")
        dtype = DTYPES.get(int(meta["dtype"]))
        if dtype is None:
            raise StageError(
                f"{self.path.name}: blob at offset {offset} has data type {int(meta['dtype'])}, "
                f"which the interpreter does not read"
            )
        start, size = int(meta["offset"]), int(meta["size"])
        return self.data[start : start + size].view(dtype)
