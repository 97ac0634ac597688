"""MXNet's allowlist: the ops MXNet registers as tensor computation, read off the symbol JSON before MXNet
builds the graph.

MXNet's registered ops compute, except the ones that call back into Python (`Custom` runs whatever class
was registered under its `op_type`, `_Native`, `_NDArray` and `_CustomFunction` run Python functions) and
`_cvimread`, which reads an image file by name. Those are refused, naming the node.
"""

from __future__ import annotations

from stages.trust.policy import Found

REFUSED = frozenset({"Custom", "_Native", "_NDArray", "_CustomFunction", "_cvimread"})


def registered() -> frozenset[str]:
    """Every op name MXNet knows (aliases included)."""
    import ctypes

    import mxnet as mx

    size = ctypes.c_uint()
    names = ctypes.POINTER(ctypes.c_char_p)()
    mx.base.check_call(mx.base._LIB.MXListAllOpNames(ctypes.byref(size), ctypes.byref(names)))
    return frozenset(names[i].decode() for i in range(size.value))


def check(graph: dict) -> list[Found]:
    """The nodes of a symbol JSON whose op is refused (unknown ops are left to MXNet, which names them)."""
    known = registered()
    return [
        Found(node.get("op", "?"), node.get("name", f"node {index}"))
        for index, node in enumerate(graph["nodes"])
        if node.get("op") != "null" and (node.get("op") in REFUSED or node.get("op") not in known)
    ]
