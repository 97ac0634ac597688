"""Read what a pickle would import, without unpickling it.

`pickletools.genops` only parses opcodes; nothing is imported or called. The
globals a pickle names tell a file of tensors (a state_dict, example inputs)
from one that rebuilds Python objects, whose loading would run their code.
"""

from __future__ import annotations

import pickletools

STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}
PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
GET_OPS = {"GET", "BINGET", "LONG_BINGET"}

# What torch.save writes for tensors and plain containers of them (torch.load(weights_only=True) reads these).
TENSOR_GLOBALS = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch.Size",
    "torch.device",
    "torch.serialization._get_layout",
    "torch.strided",
}
TORCH_DTYPES = {
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "half",
    "float",
    "double",
    "long",
    "int",
    "short",
}


def globals_of(data: bytes, count: int = 1) -> list[str]:
    """The `module.name` globals of the first `count` pickles in `data`, in order; ValueError on a broken one.

    torch.save's legacy (non-zip) format is several pickles in a row (magic number, protocol, system
    info, the object, storage keys) followed by raw tensor bytes.
    """
    found: list[str] = []
    offset = 0
    for _ in range(count):
        if offset >= len(data):
            break
        offset = _scan(data, offset, found)
    return found


def _scan(data: bytes, offset: int, found: list[str]) -> int:
    """Globals of the pickle at `offset` appended to `found`; returns the offset after its STOP."""
    pushed: list[str | None] = []  # the last values pushed, enough to resolve STACK_GLOBAL
    memo: dict[int, str | None] = {}
    end = len(data)
    try:
        for opcode, arg, pos in pickletools.genops(data[offset:]):
            name = opcode.name
            if name == "STOP":
                end = offset + pos + 1
            elif name in ("GLOBAL", "INST"):
                found.append(str(arg).replace(" ", "."))
            elif name == "STACK_GLOBAL":
                module, attr = pushed[-2:] if len(pushed) >= 2 else (None, None)
                found.append(f"{module}.{attr}" if module and attr else "<unresolved STACK_GLOBAL>")
            if name in STRING_OPS:
                pushed.append(arg if isinstance(arg, str) else None)
            elif name == "MEMOIZE":
                memo[len(memo)] = pushed[-1] if pushed else None
            elif name in PUT_OPS:
                memo[int(arg)] = pushed[-1] if pushed else None
            elif name in GET_OPS:
                pushed.append(memo.get(int(arg)))
            elif opcode.stack_after:
                pushed.append(None)
    except Exception as exc:  # genops raises ValueError and others on a truncated or foreign stream
        raise ValueError(f"not a readable pickle: {exc}") from None
    return end


def is_tensor_global(name: str) -> bool:
    module, _, attr = name.rpartition(".")
    return (
        name in TENSOR_GLOBALS
        or (module == "torch" and (attr.endswith("Storage") or attr in TORCH_DTYPES))
        or name == "torch.storage.UntypedStorage"
    )


def object_globals(data: bytes, count: int = 1) -> list[str]:
    """The globals beyond tensors and plain containers: the Python classes or functions loading would run."""
    return list(dict.fromkeys(g for g in globals_of(data, count) if not is_tensor_global(g)))
