"""How samples are fed to a model, the same way on the source's side and on every target's.

`samples.npz` holds, per input, its samples along the input's batch axis
(`batch_axis` in its spec: 0 for most models, 1 for a recurrent state shaped
[2, batch, 128]), or, for an input with no batch axis at all (a static shape
such as (3, 4, 5)), stacked along a new leading axis. A *run* is one call of
the model: every sample at once where all inputs batch on their first axis
and the model takes any batch, else one sample at a time. Outputs of the runs
are joined along their first axis, so golden and target outputs line up
whichever way each side was run.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np


def sample_count(feeds: dict[str, np.ndarray], specs: list[dict]) -> int:
    """How many samples the feeds hold (the same for every batched input; 1 with no batched input)."""
    counts = {name_count(feeds[spec["source_name"]], spec) for spec in specs if spec["source_name"] in feeds}
    return max(counts) if counts else 1


def name_count(array: np.ndarray, spec: dict) -> int:
    axis = spec.get("batch_axis", 0)
    return int(array.shape[0]) if axis is None else int(array.shape[axis])


def take(array: np.ndarray, spec: dict, index: slice) -> np.ndarray:
    """Samples `index` of one input's array, shaped as the model takes them."""
    axis = spec.get("batch_axis", 0)
    if axis is None:  # unbatched: one whole input per sample, on a leading axis of our own
        return np.asarray(array[index.start])
    return np.take(array, range(*index.indices(array.shape[axis])), axis=axis)


def batchable(specs: list[dict]) -> bool:
    """Whether all samples can go in one call: every input batches on its first axis."""
    return all(spec.get("batch_axis", 0) == 0 for spec in specs)


def runs(feeds: dict[str, np.ndarray], specs: list[dict], batched: bool) -> Iterator[dict[str, np.ndarray]]:
    """Per call of the model: each input's array, keyed by the source's input name."""
    count = sample_count(feeds, specs)
    chunks = [slice(0, count)] if batched and batchable(specs) else [slice(i, i + 1) for i in range(count)]
    for chunk in chunks:
        yield {spec["source_name"]: take(feeds[spec["source_name"]], spec, chunk) for spec in specs}


def joined(parts: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    """Outputs of all runs, joined along their first axis (a scalar output becomes one value per run)."""
    return {name: np.concatenate([np.atleast_1d(p) for p in values]) for name, values in parts.items()}


def run_all(
    call: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
    feeds: dict[str, np.ndarray],
    specs: list[dict],
    batched: bool,
) -> dict[str, np.ndarray]:
    """`call` (source names in, output names out) on every run; outputs joined."""
    parts: dict[str, list] = {}
    for run in runs(feeds, specs, batched):
        for name, value in call(run).items():
            parts.setdefault(name, []).append(np.asarray(value))
    return joined(parts)
