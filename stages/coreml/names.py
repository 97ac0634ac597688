"""The names a Core ML model's features take: the model's own, made MIL identifiers as coremltools would
([A-Za-z_][A-Za-z0-9_]*, not a MIL keyword), unique. Given to coremltools already valid, they come back
unchanged, so each feature is known by name, never by position or shape."""

from __future__ import annotations

import re

RESERVED = {
    "any",
    "bool",
    "program",
    "func",
    "tensor",
    "list",
    "dict",
    "tuple",
    "true",
    "false",
    "string",
    "bf16",
    "fp16",
    "fp32",
    "fp64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "state",
}


def identifiers(names: list[str]) -> dict[str, str]:
    """Each of `names` -> a distinct MIL identifier."""
    taken: set[str] = set()
    made = {}
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", name)
        if not re.match(r"[A-Za-z_]", base):
            base = f"_{base}"
        if base in RESERVED:  # coremltools' own spelling of a reserved word as a name
            base = f"{base}_workaround"
        candidate, index = base, 0
        while candidate in taken:
            candidate, index = f"{base}_{index}", index + 1
        taken.add(candidate)
        made[name] = candidate
    return made
