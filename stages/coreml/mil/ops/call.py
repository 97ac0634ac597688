"""What a handler sees of one operation: its inputs by MIL parameter name (values, already computed), the
names and declared types of what it makes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stages.errors import StageError


@dataclass
class Call:
    type: str
    inputs: dict  # parameter -> value (an array or str), or a tuple of values for a variadic one
    outputs: list[str]  # the names of the values it makes
    out_dtypes: list[str]  # their MIL data types (FLOAT32, FLOAT16, INT32, BOOL …)
    out_shapes: list  # their shapes as the program declares them (None where a dimension is open)
    blocks: list = field(default_factory=list)  # nested blocks (loop, branches): values in -> values out

    @property
    def name(self) -> str:
        return self.outputs[0] if self.outputs else self.type

    def __getitem__(self, parameter: str):
        try:
            return self.inputs[parameter]
        except KeyError:
            raise StageError(f"MIL op {self.type} ({self.name}) has no input {parameter!r}") from None

    def get(self, parameter: str, default=None):
        value = self.inputs.get(parameter)
        return default if value is None else value

    def ints(self, parameter: str, default=None) -> list[int] | None:
        """A small integer tensor input (shape, axes, strides …) as a Python list."""
        value = self.get(parameter)
        if value is None:
            return default
        return [int(v) for v in np.asarray(value).reshape(-1)]

    def int(self, parameter: str, default=None) -> int | None:
        value = self.get(parameter)
        return default if value is None else int(np.asarray(value).reshape(-1)[0])

    def float(self, parameter: str, default=None) -> float | None:
        value = self.get(parameter)
        return default if value is None else float(np.asarray(value).reshape(-1)[0])

    def bool(self, parameter: str, default=False) -> bool:
        value = self.get(parameter)
        return default if value is None else bool(np.asarray(value).reshape(-1)[0])
