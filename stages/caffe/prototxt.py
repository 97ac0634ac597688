"""Caffe's text format for a net: layers as nested dicts, written the way caffe.proto reads them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class Enum(str):
    """An enum value (MAX, FLOOR, SUM): written bare, not quoted."""


@dataclass
class Layer:
    name: str
    type: str
    bottom: list[str]
    top: list[str]
    params: dict = field(default_factory=dict)
    blobs: list[np.ndarray] = field(default_factory=list)


def _value(value) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(float(value))
    return str(int(value))


def _fields(fields: dict, indent: str) -> list[str]:
    lines = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                lines += [f"{indent}{key} {{", *_fields(item, indent + "  "), f"{indent}}}"]
            else:
                lines.append(f"{indent}{key}: {_value(item)}")
    return lines


def write(name: str, layers: list[Layer]) -> str:
    lines = [f"name: {_value(name)}"]
    for layer in layers:
        head = {"name": layer.name, "type": layer.type, "bottom": layer.bottom, "top": layer.top}
        lines += ["layer {", *_fields(head, "  "), *_fields(layer.params, "  "), "}"]
    return "\n".join(lines) + "\n"
