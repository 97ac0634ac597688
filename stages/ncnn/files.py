"""An ncnn model's files, and the lines of its .param file (pure Python: read by the emitters and the runner)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

PARAM, BIN, NAMES = "model.ncnn.param", "model.ncnn.bin", "names.json"

LAYER = re.compile(r"^(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s*(.*)$")


@dataclass
class Layer:
    """One line of an ncnn .param file: its layer's type, name, bottom and top blobs, and its k=v params."""

    kind: str
    name: str
    bottoms: list[str]
    tops: list[str]
    params: list[str] = field(default_factory=list)

    def line(self) -> str:
        return " ".join(
            [self.kind, self.name, str(len(self.bottoms)), str(len(self.tops)), *self.bottoms, *self.tops, *self.params]
        )


def parse(line: str) -> Layer | None:
    """The layer of a .param line, None for a line that is not one (the magic number, the counts)."""
    match = LAYER.match(line.strip())
    if not match:
        return None
    kind, name, n_in, n_out, rest = match.groups()
    blobs = rest.split()
    n_in, n_out = int(n_in), int(n_out)
    return Layer(kind, name, blobs[:n_in], blobs[n_in : n_in + n_out], blobs[n_in + n_out :])


def layers(param: Path) -> list[tuple[str, str, list[str], list[str]]]:
    """(type, name, bottoms, tops) of every layer of an ncnn .param file."""
    found = [parse(line) for line in param.read_text().splitlines()[2:]]
    return [(layer.kind, layer.name, layer.bottoms, layer.tops) for layer in found if layer]


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
