"""TFLite's allowlist, read off the flatbuffer before LiteRT opens it.

TFLite's builtin ops compute. A custom op either has a kernel in the runtime or fails to load, except one
kind: Flex ops (`FlexWriteFile`, custom code "Flex" + a TF op's name) carry TensorFlow ops, which a
runtime with the Flex delegate runs as TensorFlow would. They are held to TensorFlow's allowlist, and a
custom op named after a TF op that reaches files or processes (`WriteFile`) is refused too.
The file's structure is checked too: a flatbuffer cut short names offsets past its end, which LiteRT
does not verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stages.errors import StageError
from stages.graphdef.allowlist import ALLOWED, REACHING_OUT
from stages.trust.policy import Found

FLEX = "Flex"
CUSTOM = 32  # BuiltinOperator.CUSTOM


def read(path: Path, name: str):
    """The flatbuffer's Model, with its structure checked (every subgraph, tensor, op and buffer readable)."""
    from ai_edge_litert import schema_py_generated as schema  # LiteRT's copy: no TensorFlow import

    data = path.read_bytes()
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    except Exception as exc:  # flatbuffers raises struct.error, IndexError … on offsets past the end
        raise StageError(
            f"{name} is not a readable TFLite file: the flatbuffer is cut short or corrupt (its "
            f"{len(data)} bytes end before what it refers to: {type(exc).__name__})"
        ) from None
    if not model.subgraphs or not model.subgraphs[0].operators and not model.subgraphs[0].tensors:
        raise StageError(f"{name} is not a readable TFLite file: it holds no graph ({len(data)} bytes; cut short?)")
    return model


def text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value or "")


@dataclass(frozen=True)
class Operator:
    """One operator of the flatbuffer: its builtin code, its custom code (custom ops), the name of its first
    output tensor (None where it has none), its index and its subgraph's."""

    builtin: int
    custom: str
    output: str | None
    index: int
    subgraph: int

    @property
    def node(self) -> str:
        return self.output if self.output is not None else f"op {self.index}"


def operators(model):
    """Every operator of every subgraph, in order."""
    codes = model.operatorCodes or []
    for index, subgraph in enumerate(model.subgraphs or []):
        tensors = subgraph.tensors or []
        for op_index, op in enumerate(subgraph.operators or []):
            code = codes[op.opcodeIndex] if op.opcodeIndex < len(codes) else None
            builtin = max(getattr(code, "builtinCode", 0), getattr(code, "deprecatedBuiltinCode", 0)) if code else 0
            outputs = list(op.outputs) if op.outputs is not None else []
            output = text(tensors[outputs[0]].name) if outputs and 0 <= outputs[0] < len(tensors) else None
            yield Operator(builtin, text(code.customCode) if code is not None else "", output, op_index, index)


def check(model) -> list[Found]:
    """The Flex ops whose TensorFlow op is not on TensorFlow's allowlist, and custom ops named after one that
    reaches out."""
    found = []
    for op in operators(model):
        if op.builtin != CUSTOM:
            continue
        flex = op.custom.startswith(FLEX)
        if (flex and op.custom[len(FLEX) :] in ALLOWED) or (not flex and op.custom not in REACHING_OUT):
            continue
        found.append(Found(op.custom, op.node, f"subgraph {op.subgraph}" if op.subgraph else ""))
    return found
