"""Tensor layouts of every rank: channels-first (NCW, NCHW, NCDHW) and channels-last (NWC, NHWC, NDHWC).

Converters to TF move channels last for 3-, 4- and 5-D tensors alike, so a
layout is a string of axis letters and a permutation is read off two strings.
Ranks below 3 have no channel axis to move: their layout is None.
"""

from __future__ import annotations

import numpy as np

SPATIAL = {3: "W", 4: "HW", 5: "DHW"}
CHANNELS_FIRST = {rank: f"NC{axes}" for rank, axes in SPATIAL.items()}
CHANNELS_LAST = {rank: f"N{axes}C" for rank, axes in SPATIAL.items()}
FAMILIES = {
    "channels_first": CHANNELS_FIRST,
    "channels_last": CHANNELS_LAST,
    # the names the manifests used when only 4-D tensors had a layout
    "NCHW": CHANNELS_FIRST,
    "NHWC": CHANNELS_LAST,
}


def for_rank(family: str | None, rank: int) -> str | None:
    """The layout of a rank-`rank` tensor of `family` (channels_first/last, or NCHW/NHWC), None below 3-D."""
    return FAMILIES[family].get(rank) if family else None


def is_channels_last(layout: str | None) -> bool:
    return bool(layout) and layout.endswith("C") and len(layout) >= 3


def swapped(layout: str | None) -> str | None:
    """The other layout of the same rank: NCHW <-> NHWC, NCW <-> NWC."""
    if not layout or len(layout) not in CHANNELS_FIRST:
        return None
    rank = len(layout)
    return CHANNELS_FIRST[rank] if is_channels_last(layout) else CHANNELS_LAST[rank]


def permutation(src: str | None, dst: str | None) -> tuple[int, ...] | None:
    """Axes that turn a `src` tensor into a `dst` one; None when nothing moves."""
    if not src or not dst or src == dst or sorted(src) != sorted(dst):
        return None
    return tuple(src.index(axis) for axis in dst)


def permuted_shape(shape: list[int], src: str | None, dst: str | None) -> list[int]:
    perm = permutation(src, dst)
    return [int(shape[i]) for i in perm] if perm and len(shape) == len(perm) else [int(d) for d in shape]


def relayout(x: np.ndarray, src: str | None, dst: str | None) -> np.ndarray:
    perm = permutation(src, dst)
    return x.transpose(perm) if perm and x.ndim == len(perm) else x
