"""scatter, scatter_along_axis, scatter_nd: data with `updates` written (or combined by `mode`) at `indices`."""

from __future__ import annotations

import numpy as np

from stages.coreml.mil.ops.registry import handles

MODES = {
    "update": lambda old, new: new,
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "max": np.maximum,
    "min": np.minimum,
}


def _indices(c, size: int) -> np.ndarray:
    indices = np.asarray(c["indices"]).astype(np.int64)
    return np.where(indices < 0, indices + size, indices)


@handles("scatter")
def scatter(c):
    data, updates, axis = np.array(c["data"]), np.asarray(c["updates"]), c.int("axis", 0)
    axis %= data.ndim
    combine = MODES[c.get("mode", "update")]
    moved, new = np.moveaxis(data, axis, 0), np.moveaxis(updates, axis, 0)
    for i, index in enumerate(_indices(c, data.shape[axis]).reshape(-1)):  # in order: a later index wins
        moved[index] = combine(moved[index], new[i])
    return data


@handles("scatter_along_axis")
def scatter_along_axis(c):
    data, updates, axis = np.array(c["data"]), np.asarray(c["updates"]), c.int("axis", 0)
    axis %= data.ndim
    indices = _indices(c, data.shape[axis])
    combine = MODES[c.get("mode", "update")]
    for position in np.ndindex(*indices.shape):
        target = list(position)
        target[axis] = indices[position]
        data[tuple(target)] = combine(data[tuple(target)], updates[position])
    return data


@handles("scatter_nd")
def scatter_nd(c):
    data, updates = np.array(c["data"]), np.asarray(c["updates"])
    indices = np.asarray(c["indices"]).astype(np.int64)
    combine = MODES[c.get("mode", "add")]
    flat = indices.reshape(-1, indices.shape[-1])
    values = updates.reshape((flat.shape[0],) + updates.shape[indices.ndim - 1 :])
    for index, value in zip(flat, values, strict=True):
        data[tuple(index)] = combine(data[tuple(index)], value)
    return data
