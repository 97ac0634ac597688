"""ONNX ops as ncnn layers, one handler per op: modelferry's own ncnn writer (stages/ncnn/own.py), the
route after pnnx.

ncnn's blobs have no batch axis: a tensor [1, d1, …] is the blob [d1, …] (at most 4 dims, outermost
first: ncnn's c, d, h, w), and ONNX's axis a is the blob's a - 1. Every handler writes what ONNX computes
and refuses what ncnn cannot compute exactly, naming the op and the node. Element-wise ops between two
blobs are written at one rank (a Reshape adds the leading ones), so ncnn's broadcasting is numpy's
(ncnn broadcasts a 1-d blob as long as the channels over the channels). A constant operand is a
MemoryData blob at that rank, or the layer's scalar.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from stages.ncnn.net import FLT_MAX, Net, raw, shape_params, tagged
from stages.onnx.emitter import OpTable, Unsupported, attrs, slice_params
from stages.onnx.resize import bilinear, nearest_factors

LAYERS = OpTable("ncnn (modelferry)")
INTEGERS = {2, 3, 4, 5, 6, 7, 9, 12, 13}  # ONNX's integer and bool element types


@dataclass
class State:
    """What the handlers share: the net, the graph's constants, ONNX's inferred shapes and element types,
    which tensors are blobs, and the graph's readers of each tensor."""

    net: Net
    constants: dict
    shapes: dict
    types: dict
    readers: dict
    outputs: set
    opset: int = 13
    aliases: dict = field(default_factory=dict)  # tensor -> the tensor whose blob it is (a Noop'd op)

    def blob(self, name: str, node) -> str:
        name = self.aliases.get(name, name)
        if name in self.constants:
            return self.memory(name, self.constants[name], len(self.shapes.get(node.output[0]) or [0, 0]), node)
        if name not in self.net.names:
            raise Unsupported(f"{node.op_type} node {node.name!r}: its input {name} is not made by any layer")
        return self.net.names[name]

    def dims(self, name: str) -> tuple:
        """A blob's batch-less shape, as ncnn holds it."""
        return self.net.shapes[self.net.names[self.aliases.get(name, name)]]

    def out(self, node, index: int = 0) -> str:
        """The blob of the node's output, its shape ONNX's inferred one without the batch axis."""
        tensor = node.output[index]
        blob = self.net.blob(tensor)
        shape = self.shapes.get(tensor)
        if (shape is None or any(d is None or d < 0 for d in shape)) and node.op_type in SAME_SHAPE:
            self.net.shapes[blob] = self.dims(node.input[0])  # what inference left open (Paddle's -1 batch)
        else:
            self.net.shapes[blob] = batchless(shape, node, tensor)
        return blob

    def memory(self, name: str, value: np.ndarray, rank: int, node) -> str:
        """A constant as a MemoryData blob at `rank` (ONNX's, with the batch axis: the value's leading ones
        put in front of it, the first then dropped)."""
        value = np.asarray(value, np.float32)
        if value.ndim > rank or (rank > 1 and value.ndim == rank and value.shape[0] != 1):
            raise Unsupported(
                f"{node.op_type} node {node.name!r}: the constant {name} {list(value.shape)} has "
                f"an axis where the batch is; ncnn's blobs have none"
            )
        full = value.reshape((1,) * (rank - value.ndim) + value.shape)
        shape = full.shape[1:] if rank > 1 else full.shape
        key = f"{name}@{'x'.join(map(str, shape))}"
        if key not in self.net.names:
            blob = self.net.blob(key)
            self.net.shapes[blob] = tuple(shape)
            self.net.add("MemoryData", blob, [], [blob], shape_params(tuple(shape)), raw(full))
        return self.net.names[key]

    def integral(self, name: str) -> bool:
        """Whether a tensor holds integers (or bools) in ONNX: ncnn holds them as floats, exactly."""
        return self.types.get(self.aliases.get(name, name), self.types.get(name)) in INTEGERS


def batchless(shape, node, tensor: str) -> tuple:
    if shape is None or any(d is None or d < 0 for d in shape):
        raise Unsupported(
            f"{node.op_type} node {node.name!r}: the shape of {tensor} is not static; give the "
            f"input shapes with --input-shape"
        )
    if len(shape) == 0 or (len(shape) == 1 and shape[0] == 1):
        return (1,)
    if shape[0] != 1 or len(shape) > 5:
        raise Unsupported(
            f"{node.op_type} node {node.name!r}: {tensor} is {list(shape)}; ncnn's blobs are a batch "
            f"of one with at most 4 more axes"
        )
    return tuple(shape[1:])


def axis_of(node, axis: int, rank: int) -> int:
    """ONNX's axis on a tensor of `rank` (with the batch) as the blob's."""
    axis = axis + rank if axis < 0 else axis
    if axis == 0:
        raise Unsupported(f"{node.op_type} node {node.name!r} works along the batch axis; ncnn's blobs have none")
    return axis - 1


def layer(state: State, node, kind: str, values: dict | None = None, weights: bytes = b"") -> None:
    """The node as one layer of `kind` reading its first input and writing its output."""
    state.net.add(kind, node.name, [state.blob(node.input[0], node)], [state.out(node)], values, weights)


def _rank(state: State, node, index: int = 0) -> int:
    return len(state.shapes.get(node.input[index]) or ()) or 1


UNARY = {
    "Abs": 0,
    "Neg": 1,
    "Floor": 2,
    "Ceil": 3,
    "Sqrt": 5,
    "Exp": 7,
    "Log": 8,
    "Sin": 9,
    "Cos": 10,
    "Tan": 11,
    "Asin": 12,
    "Acos": 13,
    "Atan": 14,
    "Reciprocal": 15,
}
ACTIVATIONS = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "TanH", "Mish": "Mish", "Softplus": "Softplus"}


SAME_SHAPE = {
    *UNARY,
    *ACTIVATIONS,
    "LeakyRelu",
    "Elu",
    "HardSigmoid",
    "HardSwish",
    "Clip",
    "Identity",
    "Dropout",
    "Cast",
    "Softmax",
    "BatchNormalization",
    "LayerNormalization",
    "PRelu",
}


@LAYERS.handles(*UNARY)
def unary(state: State, node):
    layer(state, node, "UnaryOp", {0: UNARY[node.op_type]})


@LAYERS.handles(*ACTIVATIONS)
def activation(state: State, node):
    layer(state, node, ACTIVATIONS[node.op_type])


@LAYERS.handles("LeakyRelu")
def leaky_relu(state: State, node):
    layer(state, node, "ReLU", {0: float(attrs(node).get("alpha", 0.01))})


@LAYERS.handles("Elu")
def elu(state: State, node):
    layer(state, node, "ELU", {0: float(attrs(node).get("alpha", 1.0))})


@LAYERS.handles("HardSigmoid")
def hard_sigmoid(state: State, node):
    a = attrs(node)
    layer(state, node, "HardSigmoid", {0: float(a.get("alpha", 0.2)), 1: float(a.get("beta", 0.5))})


@LAYERS.handles("HardSwish")
def hard_swish(state: State, node):
    layer(state, node, "HardSwish", {0: 1.0 / 6.0, 1: 0.5})


@LAYERS.handles("Clip")
def clip(state: State, node):
    a = attrs(node)
    low, high = a.get("min", -FLT_MAX), a.get("max", FLT_MAX)
    for index, which in ((1, "min"), (2, "max")):
        if len(node.input) > index and node.input[index]:
            if node.input[index] not in state.constants:
                raise Unsupported(f"Clip node {node.name!r}: its {which} is computed; ncnn's Clip takes constants")
            value = float(np.asarray(state.constants[node.input[index]]).reshape(()))
            low, high = (value, high) if which == "min" else (low, value)
    layer(state, node, "Clip", {0: float(low), 1: float(high)})


@LAYERS.handles("Identity", "Dropout")
def identity(state: State, node):
    layer(state, node, "Noop")


@LAYERS.handles("Cast")
def cast(state: State, node):
    """ncnn's blobs are float32: a cast to a float type, or between integer types of values that are
    integers already, changes no value (integers below 2**24 are exact). A float truncated to an integer,
    or an integer made a bool, is refused."""
    to = attrs(node)["to"]
    if to in INTEGERS and not state.integral(node.input[0]):
        raise Unsupported(f"Cast node {node.name!r} truncates a float to an integer; ncnn has no such layer")
    if to == 9 and state.types.get(node.input[0]) != 9:
        raise Unsupported(f"Cast node {node.name!r} makes a bool of a number; ncnn has no such layer")
    identity(state, node)


BINARY = {
    "Add": (0, 0),
    "Sub": (1, 7),
    "Mul": (2, 2),
    "Div": (3, 8),
    "Max": (4, 4),
    "Min": (5, 5),
    "Pow": (6, 9),
}  # op: (ncnn's op_type, the op_type with the operands swapped)


def _at_rank(state: State, tensor: str, rank: int, node) -> str:
    """A blob of `tensor` at the batch-less rank `rank - 1`: a Reshape adds its leading ones."""
    blob = state.blob(tensor, node)
    dims = state.net.shapes[blob]
    want = (1,) * (max(rank - 1, 1) - len(dims)) + dims
    if want == dims:
        return blob
    made = state.net.fresh(f"{blob}/rank{rank}")
    state.net.shapes[made] = want
    state.net.add("Reshape", made, [blob], [made], shape_params(want))
    return made


def binary_layer(state: State, node, op: str, left: str, right: str, top: str) -> None:
    """`top` = left `op` right, broadcast as ONNX does; a constant of one value is the layer's scalar."""
    forward, swapped = BINARY[op]
    rank = max(_rank_of(state, left), _rank_of(state, right))
    for scalar, other, kind in ((right, left, forward), (left, right, swapped)):
        value = state.constants.get(scalar)
        if value is not None and np.size(value) == 1 and other not in state.constants:
            number = float(np.asarray(value).reshape(()))
            if (op, number) in (("Max", -np.inf), ("Min", np.inf)):  # ncnn's params hold no infinity
                state.net.add("Noop", node.name, [state.blob(other, node)], [top])
                return
            state.net.add("BinaryOp", node.name, [state.blob(other, node)], [top], {0: kind, 1: 1, 2: number})
            return
    bottoms = [
        state.memory(name, state.constants[name], rank, node)
        if name in state.constants
        else _at_rank(state, name, rank, node)
        for name in (left, right)
    ]
    state.net.add("BinaryOp", node.name, bottoms, [top], {0: forward})


def _rank_of(state: State, tensor: str) -> int:
    if tensor in state.constants:
        return np.ndim(state.constants[tensor])
    return len(state.shapes.get(tensor) or ()) or 1


@LAYERS.handles(*BINARY)
def binary(state: State, node):
    if node.op_type in ("Max", "Min") and len(node.input) != 2:
        raise Unsupported(f"{node.op_type} node {node.name!r} has {len(node.input)} inputs; ncnn's takes two")
    binary_layer(state, node, node.op_type, node.input[0], node.input[1], state.out(node))


@LAYERS.handles("Equal")
def equal(state: State, node):
    """Equal of two integer tensors as 1 - min(|a - b|, 1): 1 where they are equal, 0 where not, exactly
    (ncnn has no comparison; integers are exact in its floats). A one-hot's comparison of token ids."""
    if not (state.integral(node.input[0]) and state.integral(node.input[1])):
        raise Unsupported(f"Equal node {node.name!r} compares floats; ncnn has no comparison layer")
    base, top = node.name or node.output[0], state.out(node)
    difference, distance, capped = (state.net.fresh(f"{base}/{step}") for step in ("sub", "abs", "min"))
    binary_layer(state, node, "Sub", node.input[0], node.input[1], difference)
    state.net.shapes[difference] = state.net.shapes[top]
    state.net.add("UnaryOp", f"{base}/abs", [difference], [distance], {0: UNARY["Abs"]})
    state.net.add("BinaryOp", f"{base}/min", [distance], [capped], {0: BINARY["Min"][0], 1: 1, 2: 1.0})
    state.net.add("BinaryOp", f"{base}/not", [capped], [top], {0: BINARY["Sub"][1], 1: 1, 2: 1.0})


ELEMENTWISE = {*BINARY, "Equal"}


@LAYERS.handles("Expand")
def expand(state: State, node):
    """An Expand whose every reader broadcasts element-wise to its shape anyway is its input (no copy);
    otherwise its input plus zeros of its shape."""
    shape = state.shapes.get(node.output[0])
    readers = state.readers.get(node.output[0], [])
    if node.output[0] not in state.outputs and readers and all(_broadcasts(state, reader, node) for reader in readers):
        state.aliases[node.output[0]] = state.aliases.get(node.input[0], node.input[0])
        return
    zeros = np.zeros(shape, np.float32)
    state.constants[f"{node.output[0]}/zeros"] = zeros
    binary_layer(state, node, "Add", node.input[0], f"{node.output[0]}/zeros", state.out(node))


def _broadcasts(state: State, reader, expand) -> bool:
    """Whether `reader`, an element-wise op of two inputs, makes the same of the Expand's input as of its
    output: its other operand broadcast with the unexpanded input gives the expanded shape."""
    if reader.op_type not in ELEMENTWISE or len(reader.input) != 2 or reader.input[0] == reader.input[1]:
        return False
    other = reader.input[1] if reader.input[0] == expand.output[0] else reader.input[0]
    shapes = [
        state.shapes.get(expand.input[0]),
        state.shapes.get(other) if other not in state.constants else list(np.shape(state.constants[other])),
        state.shapes.get(expand.output[0]),
    ]
    if any(shape is None or None in shape for shape in shapes):
        return False
    try:
        return list(np.broadcast_shapes(tuple(shapes[0]), tuple(shapes[1]))) == shapes[2]
    except ValueError:
        return False


@LAYERS.handles("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def reshape(state: State, node):
    """A change of shape only: ncnn's Reshape to the output's static shape (Flatten with the batch first
    is the same)."""
    top = state.out(node)
    dims = state.net.shapes[top]
    if len(dims) > 4:
        raise Unsupported(
            f"{node.op_type} node {node.name!r} makes {len(dims) + 1} axes; ncnn's blobs hold at "
            f"most 4 besides the batch"
        )
    state.net.add("Reshape", node.name, [state.blob(node.input[0], node)], [top], shape_params(dims))


@LAYERS.handles("Transpose")
def transpose(state: State, node):
    """Permute: ncnn numbers the orders of a blob's axes (outermost first) as the permutations in
    lexicographic order, 0 keeping them (2 of 2 axes, 6 of 3, 24 of 4: found by running each type on a blob
    of distinct sizes in ncnn 1.0.20261020)."""
    rank = _rank(state, node)
    perm = attrs(node).get("perm", list(range(rank))[::-1])
    if perm[0] != 0:
        raise Unsupported(f"Transpose node {node.name!r} moves the batch axis ({perm}); ncnn's blobs have none")
    order = tuple(p - 1 for p in perm[1:])
    layer(state, node, "Permute", {0: list(itertools.permutations(range(len(order)))).index(order)})


@LAYERS.handles("Softmax", since=13)
def softmax(state: State, node):
    axis = axis_of(node, attrs(node).get("axis", -1), _rank(state, node))
    layer(state, node, "Softmax", {0: axis, 1: 1})


@LAYERS.handles("Softmax", until=12)
def softmax_flat(state: State, node):
    """Before opset 13 Softmax works over the axes from `axis` on: one axis where those after it are ones."""
    shape, rank = state.shapes.get(node.input[0]) or [], _rank(state, node)
    axis = attrs(node).get("axis", 1) % rank
    if any(d != 1 for d in shape[axis + 1 :]):
        raise Unsupported(f"Softmax node {node.name!r} (opset < 13) works over axes {axis}.. of {shape} at once")
    softmax_axis = axis_of(node, axis, rank)
    layer(state, node, "Softmax", {0: softmax_axis, 1: 1})


@LAYERS.handles("Concat")
def concat(state: State, node):
    rank = _rank(state, node)
    axis = axis_of(node, attrs(node)["axis"], rank)
    bottoms = [
        state.memory(name, state.constants[name], rank, node) if name in state.constants else state.blob(name, node)
        for name in node.input
    ]
    state.net.add("Concat", node.name, bottoms, [state.out(node)], {0: axis})


@LAYERS.handles("Slice")
def slice_(state: State, node):
    rank = _rank(state, node)
    starts, ends, axes, steps = slice_params(node, lambda name, n, what: _constant(state, name, n, what), rank)
    shape = state.shapes.get(node.input[0])
    if any(step != 1 for step in steps):
        raise Unsupported(f"Slice node {node.name!r} has steps {steps}; ncnn's Crop takes one")
    kept = [(s, e, a) for s, e, a in zip(starts, ends, axes, strict=True) if (s, min(e, shape[a])) != (0, shape[a])]
    begin = [max(0, s + shape[a] if s < 0 else s) for s, _, a in kept]
    end = [min(shape[a], e + shape[a] if e < 0 else e) for _, e, a in kept]
    blob_axes = [axis_of(node, a, rank) for _, _, a in kept]
    if not kept:
        return identity(state, node)
    layer(state, node, "Crop", {9: begin, 10: end, 11: blob_axes})


def _constant(state: State, name: str, node, what: str) -> np.ndarray:
    if name not in state.constants:
        raise Unsupported(
            f"{node.op_type} node {node.name!r}: its {what} is computed in the graph; ncnn needs it constant"
        )
    return state.constants[name]


@LAYERS.handles("Split")
def split(state: State, node):
    rank = _rank(state, node)
    axis = attrs(node).get("axis", 0) % rank
    if len(node.input) > 1 and node.input[1]:
        sizes = [int(s) for s in _constant(state, node.input[1], node, "split")]
    elif "split" in attrs(node):
        sizes = list(attrs(node)["split"])
    else:
        sizes = [state.shapes[output][axis] for output in node.output]
    state.net.add(
        "Slice",
        node.name,
        [state.blob(node.input[0], node)],
        [state.out(node, i) for i in range(len(node.output))],
        {0: sizes, 1: axis_of(node, axis, rank)},
    )


REDUCTIONS = {
    "ReduceSum": 0,
    "ReduceSumSquare": 2,
    "ReduceMean": 3,
    "ReduceMax": 4,
    "ReduceMin": 5,
    "ReduceProd": 6,
    "ReduceL1": 7,
    "ReduceL2": 8,
    "ReduceLogSum": 9,
    "ReduceLogSumExp": 10,
}


def _reduce_axes(state: State, node) -> list[int] | None:
    a = attrs(node)
    if "axes" in a:
        return list(a["axes"])
    if len(node.input) > 1 and node.input[1]:
        return [int(x) for x in np.asarray(_constant(state, node.input[1], node, "axes")).reshape(-1)]
    return None


def reduction(state: State, node, operation: int, axes: list[int] | None, keep: bool) -> None:
    rank = _rank(state, node)
    axes = list(range(1, rank)) if not axes else [a % rank for a in axes]
    layer(state, node, "Reduction", {0: operation, 1: 0, 3: [axis_of(node, a, rank) for a in axes], 4: int(keep), 5: 1})


@LAYERS.handles(*REDUCTIONS)
def reduce(state: State, node):
    a = attrs(node)
    axes = _reduce_axes(state, node)
    if not axes and a.get("noop_with_empty_axes", 0):
        return identity(state, node)
    if not axes and _rank(state, node) > 1:
        raise Unsupported(f"{node.op_type} node {node.name!r} reduces every axis, the batch's too")
    reduction(state, node, REDUCTIONS[node.op_type], axes, bool(a.get("keepdims", 1)))


@LAYERS.handles("GlobalAveragePool", "GlobalMaxPool")
def global_pool(state: State, node):
    operation = REDUCTIONS["ReduceMean" if node.op_type == "GlobalAveragePool" else "ReduceMax"]
    reduction(state, node, operation, list(range(2, _rank(state, node))), True)


@LAYERS.handles("MatMul", "Gemm")
def matmul(state: State, node):
    """x @ W (+ b) with W constant as InnerProduct, which ncnn applies to each row of a 1-d or 2-d blob."""
    a = attrs(node)
    if a.get("transA", 0) or node.input[1] not in state.constants:
        raise Unsupported(f"{node.op_type} node {node.name!r}: ncnn's InnerProduct takes x @ W with W constant")
    weight = np.asarray(state.constants[node.input[1]], np.float32)
    if weight.ndim != 2:
        raise Unsupported(f"{node.op_type} node {node.name!r}: W is {list(weight.shape)}, not a matrix")
    weight = (weight if a.get("transB", 0) else weight.T) * float(a.get("alpha", 1.0))  # (out, in)
    bias = None
    if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
        bias = np.broadcast_to(
            _constant(state, node.input[2], node, "C") * float(a.get("beta", 1.0)), (weight.shape[0],)
        )
    dims = state.dims(node.input[0])
    if len(dims) > 2:
        raise Unsupported(
            f"{node.op_type} node {node.name!r} multiplies a {len(dims) + 1}-d tensor; ncnn's InnerProduct takes rows"
        )
    layer(
        state,
        node,
        "InnerProduct",
        {0: weight.shape[0], 1: int(bias is not None), 2: weight.size},
        tagged(weight, state.net.fp16) + (raw(bias) if bias is not None else b""),
    )


def _convolution(state: State, node, kind: str, weight: np.ndarray, out_channels: int, extra: dict) -> None:
    """A Convolution or Deconvolution layer (its DepthWise kind for a group > 1): kernel, dilations, strides,
    pads and bias from the node, `weight` in ncnn's order, `extra` params on top."""
    a = attrs(node)
    group = int(a.get("group", 1))
    kh, kw = weight.shape[-2:]
    dh, dw = a.get("dilations", [1, 1])
    sh, sw = a.get("strides", [1, 1])
    bias = np.asarray(state.constants[node.input[2]], np.float32) if len(node.input) > 2 and node.input[2] else None
    values = {
        0: out_channels,
        1: kw,
        11: kh,
        2: dw,
        12: dh,
        3: sw,
        13: sh,
        **_pads(node, a),
        **extra,
        5: int(bias is not None),
        6: weight.size,
    }
    if group > 1:
        kind, values[7] = f"{kind}DepthWise", group
    layer(state, node, kind, values, tagged(weight, state.net.fp16) + (raw(bias) if bias is not None else b""))


@LAYERS.handles("Conv")
def conv(state: State, node):
    weight = np.asarray(_constant(state, node.input[1], node, "weight"), np.float32)
    if weight.ndim != 4:
        raise Unsupported(f"Conv node {node.name!r} is {weight.ndim - 2}-d; this writer takes 2-d convolutions")
    _convolution(state, node, "Convolution", weight, weight.shape[0], {})


@LAYERS.handles("ConvTranspose")
def conv_transpose(state: State, node):
    """Deconvolution: ONNX's weight [in, out / group, kh, kw] as ncnn's [out, in / group, kh, kw] per group."""
    a = attrs(node)
    weight = np.asarray(_constant(state, node.input[1], node, "weight"), np.float32)
    if weight.ndim != 4 or "output_shape" in a:
        raise Unsupported(f"ConvTranspose node {node.name!r}: this writer takes 2-d ones with pads, not output_shape")
    if _pads(node, a)[4] in (-233, -234):
        raise Unsupported(f"ConvTranspose node {node.name!r}: auto_pad; export it with explicit pads")
    group = int(a.get("group", 1))
    in_channels, per_group, kh, kw = weight.shape
    ordered = weight.reshape(group, in_channels // group, per_group, kh, kw).transpose(0, 2, 1, 3, 4)
    extra_h, extra_w = a.get("output_padding", [0, 0])
    _convolution(state, node, "Deconvolution", ordered, per_group * group, {18: extra_w, 19: extra_h})


def _pads(node, a: dict) -> dict[int, int]:
    """Conv and pooling pads as ncnn's left (4), top (14), right (15), bottom (16); ONNX's auto_pad SAME_*
    as ncnn's -233 (upper) and -234 (lower)."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return {4: -233 if auto == "SAME_UPPER" else -234}
    if auto not in ("NOTSET", "VALID"):
        raise Unsupported(f"{node.op_type} node {node.name!r}: auto_pad {auto}")
    top, left, bottom, right = a.get("pads", [0, 0, 0, 0])
    return {4: left, 14: top, 15: right, 16: bottom}


@LAYERS.handles("MaxPool", "AveragePool")
def pool(state: State, node):
    a = attrs(node)
    kernel = a["kernel_shape"]
    if len(kernel) != 2 or a.get("dilations", [1, 1]) != [1, 1] or len(node.output) > 1 and node.output[1]:
        raise Unsupported(f"{node.op_type} node {node.name!r}: ncnn's Pooling is 2-d, without dilation or indices")
    shape_in, shape_out = state.shapes[node.input[0]], state.shapes[node.output[0]]
    pads = _pads(node, a)
    strides = a.get("strides", [1, 1])
    if a.get("ceil_mode", 0):  # floor gives the same size where no window starts past the end
        floor = [
            (shape_in[2 + i] + pads[(14, 4)[i]] + pads[(16, 15)[i]] - kernel[i]) // strides[i] + 1 for i in range(2)
        ]
        if floor != list(shape_out[2:]):
            raise Unsupported(f"{node.op_type} node {node.name!r}: ceil_mode adds a window past the end")
    values = {
        0: int(node.op_type == "AveragePool"),
        1: kernel[1],
        11: kernel[0],
        2: strides[1],
        12: strides[0],
        3: pads[4],
        13: pads.get(14, 0),
        14: pads.get(15, 0),
        15: pads.get(16, 0),
        5: 1,
        6: int(a.get("count_include_pad", 0)),
    }
    if pads[4] in (-233, -234):
        values.update({3: 0, 13: 0, 14: 0, 15: 0, 5: 2 if pads[4] == -233 else 3})
    layer(state, node, "Pooling", values)


@LAYERS.handles("BatchNormalization")
def batch_norm(state: State, node):
    scale, bias, mean, var = (
        np.asarray(_constant(state, name, node, what), np.float32)
        for name, what in zip(node.input[1:5], ("scale", "B", "mean", "var"), strict=True)
    )
    layer(
        state,
        node,
        "BatchNorm",
        {0: scale.size, 1: float(attrs(node).get("epsilon", 1e-5))},
        raw(scale) + raw(mean) + raw(var) + raw(bias),
    )


@LAYERS.handles("LayerNormalization")
def layer_norm(state: State, node):
    a = attrs(node)
    rank = _rank(state, node)
    if a.get("axis", -1) % rank != rank - 1:
        raise Unsupported(
            f"LayerNormalization node {node.name!r} normalizes from axis {a.get('axis')}; ncnn's "
            f"LayerNorm normalizes the last"
        )
    scale = np.asarray(_constant(state, node.input[1], node, "scale"), np.float32).reshape(-1)
    bias = (
        np.asarray(_constant(state, node.input[2], node, "B"), np.float32).reshape(-1)
        if len(node.input) > 2 and node.input[2]
        else np.zeros_like(scale)
    )
    layer(state, node, "LayerNorm", {0: scale.size, 1: float(a.get("epsilon", 1e-5)), 2: 1}, raw(scale) + raw(bias))


@LAYERS.handles("PRelu")
def prelu(state: State, node):
    slope = np.asarray(_constant(state, node.input[1], node, "slope"), np.float32)
    dims = state.dims(node.input[0])
    if slope.size not in (1, dims[0]) or (slope.size > 1 and np.ndim(slope) < len(dims)):
        raise Unsupported(f"PRelu node {node.name!r}: its slope {list(slope.shape)} is not one per channel")
    layer(state, node, "PReLU", {0: slope.size}, raw(slope.reshape(-1)))


@LAYERS.handles("Resize", "Upsample")
def resize(state: State, node):
    """A nearest Resize that repeats each element k times (decided against ONNX's own index formula,
    stages/onnx/resize.py), or a linear one in PyTorch's coordinates, as Interp to the output's size."""
    shape_in, shape_out = state.shapes.get(node.input[0]), state.shapes.get(node.output[0])
    if not shape_in or not shape_out or len(shape_in) != 4 or None in shape_out:
        raise Unsupported(
            f"{node.op_type} node {node.name!r}: ncnn's Interp resizes the last two axes of a static 4-d tensor"
        )
    mode = attrs(node).get("mode", b"nearest")
    if (mode.decode() if isinstance(mode, bytes) else mode) == "linear":
        values = {0: 2, 6: int(bilinear(node, shape_in, shape_out, state.constants, "ncnn"))}
    else:
        nearest_factors(node, shape_in, shape_out, state.constants, "ncnn")
        values = {0: 1}
    layer(state, node, "Interp", {**values, 3: shape_out[2], 4: shape_out[3]})


PAD_MODES = {"constant": 0, "edge": 1, "reflect": 2}  # ncnn's Padding types: constant, replicate, reflect
# ncnn's (before, after) param keys for each axis of a blob of 1-4 dims, outermost first: w (left, right),
# h (top, bottom), and the channels of a 3-d blob or the depth of a 4-d one (front, behind)
PAD_KEYS = {1: [(2, 3)], 2: [(0, 1), (2, 3)], 3: [(7, 8), (0, 1), (2, 3)], 4: [None, (7, 8), (0, 1), (2, 3)]}


@LAYERS.handles("Pad")
def pad(state: State, node):
    a = attrs(node)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    rank = _rank(state, node)
    if "pads" in a:  # before opset 11
        pads, value = list(a["pads"]), float(a.get("value", 0.0))
    else:
        pads = [int(p) for p in np.asarray(_constant(state, node.input[1], node, "pads")).reshape(-1)]
        given = len(node.input) > 2 and node.input[2]
        value = float(np.asarray(_constant(state, node.input[2], node, "value")).reshape(())) if given else 0.0
        if len(node.input) > 3 and node.input[3]:
            raise Unsupported(f"Pad node {node.name!r} pads some axes only (axes); this writer takes pads for all")
    if mode not in PAD_MODES or any(p < 0 for p in pads):
        raise Unsupported(
            f"Pad node {node.name!r}: mode {mode} with pads {pads}; ncnn pads constant, edge or "
            f"reflect, by positive amounts"
        )
    before, after = pads[:rank], pads[rank:]
    if before[0] or after[0]:
        raise Unsupported(f"Pad node {node.name!r} pads the batch axis; ncnn's blobs have none")
    values = {4: PAD_MODES[mode], 5: value}
    for axis, keys in enumerate(PAD_KEYS[rank - 1], start=1):
        if before[axis] or after[axis]:
            if keys is None:
                raise Unsupported(f"Pad node {node.name!r} pads the channels of a 4-d blob; ncnn's Padding cannot")
            values.update({keys[0]: before[axis], keys[1]: after[axis]})
    layer(state, node, "Padding", values)


@LAYERS.handles("Gather")
def gather(state: State, node):
    """A Gather of constant indices from a blob: each run of consecutive indices a Crop along the axis, runs
    put together by Concat, the axis dropped by a Reshape for one index given as a scalar. Token ids into a
    constant table (an embedding) are not written here."""
    rank = _rank(state, node)
    if node.input[1] not in state.constants:
        raise Unsupported(
            f"Gather node {node.name!r} gathers by indices the graph computes; this writer takes "
            f"constant ones (an embedding of token ids goes by pnnx's Embed)"
        )
    indices = np.asarray(state.constants[node.input[1]])
    if indices.ndim > 1:
        raise Unsupported(f"Gather node {node.name!r} takes {indices.ndim}-d indices")
    axis = attrs(node).get("axis", 0) % rank
    size = state.shapes[node.input[0]][axis]
    picked = [int(i) % size for i in indices.reshape(-1)]
    runs = []
    for index in picked:
        if runs and runs[-1][1] == index:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    source, base = state.blob(node.input[0], node), node.name or node.output[0]
    blob_axis, dims = axis_of(node, axis, rank), list(state.dims(node.input[0]))
    top = state.out(node)
    gathered = top if indices.ndim else state.net.fresh(f"{base}/kept")  # a scalar index: the axis goes after
    state.net.shapes[gathered] = tuple(dims[:blob_axis] + [len(picked)] + dims[blob_axis + 1 :])
    crops = []
    for begin, end in runs:
        made = gathered if len(runs) == 1 else state.net.fresh(f"{base}/crop{begin}")
        state.net.shapes[made] = tuple(dims[:blob_axis] + [end - begin] + dims[blob_axis + 1 :])
        state.net.add(
            "Crop", base if len(runs) == 1 else made, [source], [made], {9: [begin], 10: [end], 11: [blob_axis]}
        )
        crops.append(made)
    if len(runs) > 1:
        state.net.add("Concat", base, crops, [gathered], {0: blob_axis})
    if not indices.ndim:
        state.net.add("Reshape", base, [gathered], [top], shape_params(state.net.shapes[top]))
