"""Control flow and lists: while_loop (a condition block and a body block over the loop variables), cond
(two branches), and the lists loops collect into (make_list, list_write, list_read, list_gather …)."""

from __future__ import annotations

import numpy as np

from stages.coreml.mil.ops.registry import handles

LIMIT = 1_000_000  # iterations: a loop that runs longer is a fault, not a model


def _many(value) -> list:
    return list(value) if isinstance(value, tuple) else [value]


@handles("while_loop")
def while_loop(c):
    condition, body = c.blocks
    loop_vars = _many(c["loop_vars"])
    for _ in range(LIMIT):
        if not bool(np.asarray(condition(loop_vars)[0]).reshape(-1)[0]):
            return tuple(loop_vars)
        loop_vars = body(loop_vars)
    raise RuntimeError(f"while_loop ran {LIMIT} iterations")


@handles("cond")
def cond(c):
    taken = c.blocks[0] if bool(np.asarray(c["pred"]).reshape(-1)[0]) else c.blocks[1]
    return tuple(taken([]))


@handles("make_list")
def make_list(c):
    length = c.int("init_length", 1)
    shape = c.ints("elem_shape")
    fill = np.zeros(shape, np.float32) if shape is not None else None
    return [fill] * length


@handles("list_length")
def list_length(c):
    return np.int32(len(c["ls"]))


@handles("list_write")
def list_write(c):
    items, index = list(c["ls"]), c.int("index")
    if index >= len(items):
        items += [None] * (index + 1 - len(items))
    items[index] = c["value"]
    return items


@handles("list_read")
def list_read(c):
    return c["ls"][c.int("index")]


@handles("list_gather")
def list_gather(c):
    items = c["ls"]
    return np.stack([items[i] for i in c.ints("indices")])


@handles("list_scatter")
def list_scatter(c):
    items = list(c["ls"])
    for index, value in zip(c.ints("indices"), np.asarray(c["value"]), strict=True):
        if index >= len(items):
            items += [None] * (index + 1 - len(items))
        items[index] = value
    return items
