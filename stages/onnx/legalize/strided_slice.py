"""A Slice with a step (YOLOv5's and YOLOX's "Focus": x[..., ::2, ::2], x[..., 1::2, ::2] …) as Reshape,
an unstrided Slice and Reshape: the axis of size D is split into (D/s, s) and phase `start` is taken on the
new axis of size s. ncnn has no strided crop (pnnx leaves `Tensor.slice` with step 2) and Caffe's Slice
has no step; both take Reshape and a plain crop.

Rewritten where it is exact and the shapes are known: every step is ≥ 1, the tensor's shape is static (at
the inputs' shapes; the Reshapes keep the batch as 0, "copy", so a dynamic one stays so), and on each
strided axis D is a multiple of s, the start lies in [0, s) and the end reaches D. Other Slices are left."""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph, Steps


def run(graph: Graph) -> int:
    return graph.rewrite_each("Slice", _plan, _nodes)


def _plan(graph: Graph, node):
    """(shape, [(axis, start, step)] strided, [(axis, start, end)] plain) of a Slice to rewrite, else None."""
    if len(node.input) < 5 or graph.opset < 10:
        return None
    shape = graph.shape(node.input[0])
    values = [graph.constants.get(name) for name in node.input[1:5]]
    if shape is None or None in shape[1:] or any(v is None for v in values):
        return None
    starts, ends, axes, steps = (np.asarray(v, dtype=np.int64).reshape(-1) for v in values)
    if (steps <= 1).all() or (steps < 1).any():
        return None
    strided, plain = [], []
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = int(axis) % len(shape)
        size = shape[axis]
        if axis == 0 or size is None:
            return None
        start = int(start) + size if start < 0 else int(start)
        end = min(int(end) + size if end < 0 else int(end), size)
        if step == 1:
            plain.append((axis, start, end))
        elif size % step or not 0 <= start < step or end < size:
            return None
        else:
            strided.append((axis, start, int(step)))
    return shape, strided, plain


def _nodes(graph: Graph, node, shape: list, strided: list, plain: list) -> list:
    name, current = node.name or node.output[0], node.input[0]
    step = Steps(name, node.output[0])
    dims = [0, *shape[1:]]  # 0: Reshape copies the batch dim, whatever it is when the graph runs

    def ints(label: str, values) -> str:
        return graph.constant(f"{name}/{label}", np.asarray(values, dtype=np.int64), None)

    for i, (axis, start, stride) in enumerate(strided):
        split = [*dims[:axis], dims[axis] // stride, stride, *dims[axis + 1 :]]
        current = step("Reshape", f"split_{axis}", [current, ints(f"split_{axis}", split)])
        current = step(
            "Slice",
            f"phase_{axis}",
            [
                current,
                ints(f"phase_{axis}_start", [start]),
                ints(f"phase_{axis}_end", [start + 1]),
                ints(f"phase_{axis}_axis", [axis + 1]),
            ],
        )
        dims = [*dims[:axis], dims[axis] // stride, *dims[axis + 1 :]]
        last = i == len(strided) - 1 and not plain
        current = step("Reshape", f"join_{axis}", [current, ints(f"join_{axis}", dims)], last=last)
    if plain:
        axes, starts, ends = zip(*plain, strict=True)
        step(
            "Slice",
            "crop",
            [current, ints("crop_start", starts), ints("crop_end", ends), ints("crop_axes", axes)],
            last=True,
        )
    return step.made
