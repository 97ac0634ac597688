"""Layers that move values without computing: Input (a graph input), Flatten and Reshape (to the shape
Caffe gave the top), Crop, Tile, and the reductions Reduction and ArgMax."""

from __future__ import annotations

import numpy as np

from stages.caffe.read import SET
from stages.caffe.to_onnx.graph import Graph, Layer
from stages.caffe.to_onnx.registry import handles


@handles("Input")
def input_(g: Graph, layer: Layer) -> None:
    """Its tops are the graph's inputs."""


@handles("Flatten", "Reshape")
def reshape(g: Graph, layer: Layer) -> None:
    top = g.shape(layer.top[0])
    if len(top) == 2 and top[0] == g.shape(layer.bottom[0])[0]:
        g.last("Flatten", [layer.inputs[0]], layer, axis=1)
    else:
        g.last("Reshape", [layer.inputs[0], g.target_shape(layer)], layer)


@handles("Crop")
def crop(g: Graph, layer: Layer) -> None:
    """bottom[0] cut to bottom[1]'s shape from `axis` on, at `offset` (one for all axes, or one each)."""
    param = layer.param("crop_param")
    shape, like = g.shape(layer.bottom[0]), g.shape(layer.bottom[1])
    axis = int(param.get("axis", 2))
    axis = axis + len(shape) if axis < 0 else axis
    axes = list(range(axis, len(shape)))
    offsets = [int(o) for o in param.get("offset", [])] or [0]
    offsets = offsets * len(axes) if len(offsets) == 1 else offsets
    starts = offsets
    ends = [start + like[a] for start, a in zip(starts, axes)]
    g.last(
        "Slice",
        [
            layer.inputs[0],
            g.ints(f"{layer.name}/starts", starts),
            g.ints(f"{layer.name}/ends", ends),
            g.ints(f"{layer.name}/axes", axes),
        ],
        layer,
    )


@handles("Tile")
def tile(g: Graph, layer: Layer) -> None:
    param = layer.param("tile_param")
    rank = len(g.shape(layer.bottom[0]))
    axis = int(param.get("axis", 1))
    repeats = [1] * rank
    repeats[axis + rank if axis < 0 else axis] = int(param["tiles"])
    g.last("Tile", [layer.inputs[0], g.ints(f"{layer.name}/repeats", repeats)], layer)


REDUCE = {"SUM": "ReduceSum", "ASUM": "ReduceL1", "SUMSQ": "ReduceSumSquare", "MEAN": "ReduceMean"}


@handles("Reduction")
def reduction(g: Graph, layer: Layer) -> None:
    """SUM, ASUM, SUMSQ or MEAN over every axis from `axis` on, times `coeff`."""
    param = layer.param("reduction_param")
    rank = len(g.shape(layer.bottom[0]))
    axis = int(param.get("axis", 0))
    axes = list(range(axis + rank if axis < 0 else axis, rank))
    op = REDUCE[param.get("operation", "SUM")]
    coeff = float(param.get("coeff", 1))
    inputs = [layer.inputs[0]] + ([g.ints(f"{layer.name}/axes", axes)] if op == "ReduceSum" else [])
    attrs = {} if op == "ReduceSum" else {"axes": axes}
    reduced = g.step(op, inputs, layer, "reduced", keepdims=0, **attrs)
    if coeff == 1:
        g.last("Identity", [reduced], layer)
    else:
        g.last("Mul", [reduced, g.const(f"{layer.name}/coeff", np.float32(coeff))], layer)


@handles("ArgMax")
def argmax(g: Graph, layer: Layer) -> None:
    param = layer.param("argmax_param")
    if "axis" not in param.get(SET, []) or param.get("out_max_val") or int(param.get("top_k", 1)) != 1:
        g.refuse(layer, "only ArgMax along an axis, top_k 1, without out_max_val has an ONNX counterpart here")
    index = g.step("ArgMax", [layer.inputs[0]], layer, "index", axis=int(param["axis"]), keepdims=1)
    g.last("Cast", [index], layer, to=1)
