"""An ncnn net as modelferry writes it itself (the second route after pnnx, stages/ncnn/own.py): layers in
order, each with its k=v params and its weights, and the batch-less shape of each blob.

The .param file is text: magic 7767517, `layer_count blob_count`, then a line per layer, `Type name
n_bottoms n_tops bottoms… tops… k=v …`, where an array is `-(23300 + k)=count,v1,v2…`. ncnn tells an
int from a float by its text (a float has a '.' or an 'e'), so each param keeps its type. The .bin holds the
weights in layer order: those ncnn reads with a type tag (Convolution's, InnerProduct's, Embed's kernels)
start with four bytes (0: float32; 0x01306B47: float16, padded to four bytes), the others are raw float32.

A blob that several layers read goes through a Split (ncnn computes some layers in place: each reader
gets its own reference), as pnnx writes it. Blobs keep the model's tensor names where ncnn can hold them
(no whitespace, under 256 bytes)."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stages.errors import StageError
from stages.ncnn.files import BIN, PARAM, Layer

MAGIC = 7767517
FP16_TAG = 0x01306B47
FLT_MAX = 3.402823466e38
NAME = re.compile(r"\s")


def tagged(array: np.ndarray, fp16: bool) -> bytes:
    """Weights ncnn reads with a type tag: the tag, then float32 or float16 values (padded to 4 bytes)."""
    if not fp16:
        return struct.pack("<I", 0) + np.ascontiguousarray(array, np.float32).tobytes()
    data = np.ascontiguousarray(array, np.float16).tobytes()
    return struct.pack("<I", FP16_TAG) + data + b"\0" * (-len(data) % 4)


def raw(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, np.float32).tobytes()


def _text(value) -> str:
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return str(int(value))
    number = float(value)
    if not np.isfinite(number):  # ncnn reads no inf or nan: the largest float stands for infinity
        if np.isnan(number):
            raise StageError("a layer's parameter is NaN, which ncnn's param files cannot hold")
        number = np.copysign(FLT_MAX, number)
    return f"{number:e}"


def params(values: dict[int, object]) -> list[str]:
    """`k=v` for each param: ints as ints, floats with an exponent, a list as its array key."""
    out = []
    for key, value in values.items():
        if isinstance(value, (list, tuple, np.ndarray)):
            items = list(value)
            out.append(f"{-23300 - key}={len(items)}" + "".join(f",{_text(v)}" for v in items))
        else:
            out.append(f"{key}={_text(value)}")
    return out


@dataclass
class Net:
    fp16: bool = False
    layers: list[Layer] = field(default_factory=list)
    weights: list[bytes] = field(default_factory=list)  # one entry per layer, in order
    shapes: dict[str, tuple] = field(default_factory=dict)  # blob -> its batch-less shape
    names: dict[str, str] = field(default_factory=dict)  # tensor name -> blob name
    _taken: set = field(default_factory=set)

    def blob(self, tensor: str) -> str:
        """The blob of `tensor`: its own name where ncnn can hold it, else one made from it."""
        if tensor not in self.names:
            name = NAME.sub("_", tensor)[:200] or "blob"
            unique, n = name, 1
            while unique in self._taken:
                unique, n = f"{name}_{n}", n + 1
            self._taken.add(unique)
            self.names[tensor] = unique
        return self.names[tensor]

    def fresh(self, base: str) -> str:
        """A blob of no tensor of the model (a layer's intermediate result)."""
        return self.blob(f"{base}#{len(self.layers)}")

    def add(
        self,
        kind: str,
        name: str,
        bottoms: list[str],
        tops: list[str],
        values: dict | None = None,
        weights: bytes = b"",
    ) -> None:
        """A layer reading and writing blobs (by blob name)."""
        self.layers.append(
            Layer(kind, NAME.sub("_", name)[:200] or kind, list(bottoms), list(tops), params(values or {}))
        )
        self.weights.append(weights)

    def write(self, folder: Path) -> None:
        """folder/model.ncnn.param and .bin, with a Split for each blob more than one layer reads."""
        layers = self._split()
        blobs = {top for layer in layers for top in layer.tops}
        text = [str(MAGIC), f"{len(layers)} {len(blobs)}", *(layer.line() for layer in layers)]
        (folder / PARAM).write_text("\n".join(text) + "\n")
        (folder / BIN).write_bytes(b"".join(self.weights))

    def _split(self) -> list[Layer]:
        readers: dict[str, int] = {}
        for layer in self.layers:
            for bottom in layer.bottoms:
                readers[bottom] = readers.get(bottom, 0) + 1
        shared = {blob for blob, count in readers.items() if count > 1}
        handed: dict[str, int] = {}
        layers = []
        for layer in self.layers:
            bottoms = []
            for bottom in layer.bottoms:
                if bottom in shared:
                    bottoms.append(f"{bottom}_splitncnn_{handed.get(bottom, 0)}")
                    handed[bottom] = handed.get(bottom, 0) + 1
                else:
                    bottoms.append(bottom)
            layers.append(Layer(layer.kind, layer.name, bottoms, layer.tops, layer.params))
            for top in layer.tops:
                if top in shared:
                    layers.append(
                        Layer("Split", f"splitncnn_{top}", [top], [f"{top}_splitncnn_{i}" for i in range(readers[top])])
                    )
        return layers


def shape_params(shape: tuple) -> dict[int, int]:
    """A batch-less shape as ncnn's w (0), h (1), d (11) and c (2) params, innermost first."""
    keys = {1: (0,), 2: (0, 1), 3: (0, 1, 2), 4: (0, 1, 11, 2)}[len(shape)]
    return dict(zip(keys, reversed(shape), strict=False))
