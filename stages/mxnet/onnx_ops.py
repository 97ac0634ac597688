"""ONNX ops as MXNet symbols, one handler per op (the MXNet target's emitter, stages/mxnet/emit.py).

MXNet's own importer (mx.contrib.onnx) ignores ceil_mode, pads AveragePool as if count_include_pad=1
and leaves BatchNorm at MXNet's eps 1e-3 when the attribute is absent. Here every default that differs
between the two is written out: BatchNorm with the node's eps, fix_gamma=False and use_global_stats;
pooling with explicit stride, convention and padding, the convention chosen only where it gives ONNX's
output size; asymmetric padding as an explicit pad. What MXNet cannot express exactly is refused, naming
the op and the node: never an approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mxnet as mx
import numpy as np

from stages.onnx.emitter import OpTable, Unsupported, attrs, reshape_target, slice_params
from stages.onnx.legalize import einsum as einsum_plan
from stages.onnx.resize import bilinear, nearest_factors

OPS = OpTable("MXNet")


@dataclass
class Graph:
    """What the handlers share: symbols by tensor name, constants (initializers and Constant nodes),
    static shapes (ONNX's shape inference at the signature's shapes), and the params made so far."""

    symbols: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)
    arg: dict = field(default_factory=dict)
    aux: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)  # name -> (its variable, its value)
    opset: int = 13
    input_shapes: dict = field(default_factory=dict)

    def constant(self, name: str, node, what: str) -> np.ndarray:
        if name not in self.constants:
            raise Unsupported(
                f"{node.op_type} node {node.name!r}: its {what} ({name}) is computed in the graph; "
                f"MXNet's symbol needs it constant"
            )
        return self.constants[name]

    def param(self, name: str, value: np.ndarray, aux: bool = False) -> mx.sym.Symbol:
        """A parameter holding `value`. One name is one parameter: asked again for the same value (a weight
        two nodes share) it is the same one; for another value under that name, a new name."""
        if value.dtype == np.bool_:  # MXNet's symbols have no bool: 1 and 0 (see COMPARE)
            value = value.astype(np.float32)
        unique, n = name, 1
        while unique in self.params:
            made, held = self.params[unique]
            if held.dtype == value.dtype and held.shape == value.shape and np.array_equal(held, value):
                return made
            unique, n = f"{name}__{n}", n + 1
        (self.aux if aux else self.arg)[unique] = mx.nd.array(value, dtype=value.dtype)
        made = mx.sym.var(unique, shape=value.shape, dtype=value.dtype)
        self.params[unique] = (made, value)
        return made

    def tensor(self, name: str) -> mx.sym.Symbol:
        """A tensor as a symbol; a constant one becomes a parameter of its own."""
        if name not in self.symbols:
            if name not in self.constants:
                raise Unsupported(f"tensor {name!r} is used before it is made")
            self.symbols[name] = self.param(name, self.constants[name])
        return self.symbols[name]

    def shape(self, name: str) -> list | None:
        """A tensor's static shape: a constant's, ONNX's shape inference's where it knows every dim, else
        MXNet's own inference on the symbol built so far (exact: the inputs' shapes are fixed)."""
        if name in self.constants:
            return list(self.constants[name].shape)
        known = self.shapes.get(name)
        if known is not None and all(isinstance(d, int) for d in known):
            return known
        if name in self.symbols:
            symbol = self.symbols[name]
            used = set(symbol.list_arguments())  # infer_shape refuses the inputs a symbol does not read
            try:
                _, shapes, _ = symbol.infer_shape(**{k: v for k, v in self.input_shapes.items() if k in used})
            except mx.base.MXNetError:
                return known
            if shapes and shapes[0] is not None:
                self.shapes[name] = list(shapes[0])
                return self.shapes[name]
        return known

    def rank(self, name: str, node) -> int:
        shape = self.shape(name)
        if shape is None:
            raise Unsupported(f"{node.op_type} node {node.name!r}: the rank of {name} is unknown")
        return len(shape)


def _pads(node, spatial: int) -> tuple[list[int], list[int]]:
    pads = list(attrs(node).get("pads", [0] * 2 * spatial))
    if attrs(node).get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise Unsupported(f"{node.op_type} node {node.name!r}: auto_pad is not supported; export with explicit pads")
    return pads[:spatial], pads[spatial:]


def _explicit_pad(x, begin: list[int], end: list[int], value: float, node):
    if len(begin) != 2:
        raise Unsupported(
            f"{node.op_type} node {node.name!r}: asymmetric padding of {len(begin)}-d data (MXNet's pad takes 4-d data)"
        )
    return mx.sym.pad(
        x,
        mode="constant",
        constant_value=value,
        pad_width=(0, 0, 0, 0, begin[0], end[0], begin[1], end[1]),
        name=f"{node.name}_pad",
    )


def _name(node) -> str:
    return node.output[0]


@OPS.handles("Conv")
def conv(g: Graph, node):
    a = attrs(node)
    weight = g.constant(node.input[1], node, "weight")
    spatial = weight.ndim - 2
    begin, end = _pads(node, spatial)
    x = g.tensor(node.input[0])
    if begin != end:
        x, begin = _explicit_pad(x, begin, end, 0.0, node), [0] * spatial
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    return mx.sym.Convolution(
        x,
        weight=g.param(node.input[1], weight),
        bias=g.tensor(bias) if bias else None,
        kernel=tuple(weight.shape[2:]),
        stride=tuple(a.get("strides", [1] * spatial)),
        dilate=tuple(a.get("dilations", [1] * spatial)),
        pad=tuple(begin),
        num_filter=weight.shape[0],
        num_group=a.get("group", 1),
        no_bias=bias is None,
        name=_name(node),
    )


@OPS.handles("ConvTranspose")
def conv_transpose(g: Graph, node):
    """Deconvolution; asymmetric pads and output_padding as the unpadded result, `adj` rows added at the
    end where output_padding reaches past it (ONNX's and MXNet's both hold the bias only), then cropped:
    ONNX's output is the full one from pads_begin to its length - pads_end + output_padding."""
    a = attrs(node)
    weight = g.constant(node.input[1], node, "weight")
    spatial = weight.ndim - 2
    begin, end = _pads(node, spatial)
    extra = list(a.get("output_padding", [0] * spatial))
    if "output_shape" in a:
        raise Unsupported(f"ConvTranspose node {node.name!r}: output_shape (export with pads instead)")
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    group = a.get("group", 1)
    plain = begin == end and not any(extra)
    adj = [max(0, e - p) for e, p in zip(extra, end, strict=True)]
    made = mx.sym.Deconvolution(
        g.tensor(node.input[0]),
        weight=g.param(node.input[1], weight),
        bias=g.tensor(bias) if bias else None,
        kernel=tuple(weight.shape[2:]),
        stride=tuple(a.get("strides", [1] * spatial)),
        dilate=tuple(a.get("dilations", [1] * spatial)),
        pad=tuple(begin) if plain else (0,) * spatial,
        adj=(0,) * spatial if plain else tuple(adj),
        num_filter=weight.shape[1] * group,
        num_group=group,
        no_bias=bias is None,
        name=_name(node) if plain else f"{_name(node)}_full",
    )
    if plain:
        return made
    # the cropped end, counted back from the full output's end (which holds `adj` rows past it)
    stops = [e - p if p > e else None for p, e in zip(end, extra, strict=True)]
    return mx.sym.slice(made, begin=(None, None, *begin), end=(None, None, *stops), name=_name(node))


@OPS.handles("BatchNormalization")
def batch_norm(g: Graph, node):
    a = attrs(node)
    if len(node.output) > 1 and any(node.output[1:]):
        raise Unsupported(f"BatchNormalization node {node.name!r} is in training mode (running stats as outputs)")
    gamma, beta, mean, var = (
        g.constant(n, node, what) for n, what in zip(node.input[1:], ("scale", "bias", "mean", "variance"), strict=True)
    )
    # MXNet's defaults would be eps 1e-3 and fix_gamma=True (gamma ignored): both written out
    return mx.sym.BatchNorm(
        g.tensor(node.input[0]),
        gamma=g.param(node.input[1], gamma),
        beta=g.param(node.input[2], beta),
        moving_mean=g.param(node.input[3], mean, aux=True),
        moving_var=g.param(node.input[4], var, aux=True),
        eps=float(a.get("epsilon", 1e-5)),
        momentum=float(a.get("momentum", 0.9)),
        fix_gamma=False,
        use_global_stats=True,
        name=_name(node),
    )


def _pool_sizes(n: int, k: int, s: int, p0: int, p1: int, d: int = 1) -> tuple[int, int, int]:
    """Output sizes along one axis: ONNX floor, ONNX ceil (a last window that starts in the end padding
    dropped, as ONNX's reference and PyTorch do), MXNet 'full' (ceil, no such clamp)."""
    span = n + p0 + p1 - d * (k - 1) - 1
    floor = span // s + 1
    ceil = math.ceil(span / s) + 1
    full = ceil
    if (ceil - 1) * s >= n + p0:
        ceil -= 1
    return floor, ceil, full


@OPS.handles("MaxPool", "AveragePool")
def pool(g: Graph, node):
    a = attrs(node)
    kernel = list(a["kernel_shape"])
    spatial = len(kernel)
    strides = list(a.get("strides", [1] * spatial))  # ONNX's default stride is 1, as MXNet's
    if any(d != 1 for d in a.get("dilations", [1] * spatial)):
        raise Unsupported(f"{node.op_type} node {node.name!r}: dilated pooling")
    if len(node.output) > 1 and node.output[1]:
        raise Unsupported(f"MaxPool node {node.name!r}: the Indices output")
    begin, end = _pads(node, spatial)
    shape = g.shape(node.input[0])
    if shape is None or any(not isinstance(d, int) for d in shape[2:]):
        raise Unsupported(f"{node.op_type} node {node.name!r}: the input's spatial size is unknown")
    ceil_mode = bool(a.get("ceil_mode", 0))
    is_max = node.op_type == "MaxPool"
    include_pad = bool(a.get("count_include_pad", 0))
    x = g.tensor(node.input[0])
    if begin != end:
        if not is_max and not include_pad:
            raise Unsupported(
                f"AveragePool node {node.name!r}: asymmetric pads without count_include_pad "
                f"(MXNet divides by the window inside its own, symmetric padding)"
            )
        x = _explicit_pad(x, begin, end, -np.inf if is_max else 0.0, node)
        shape = [*shape[:2], *(n + b + e for n, b, e in zip(shape[2:], begin, end, strict=True))]
        begin = end = [0] * spatial
    sizes = [_pool_sizes(n, k, s, p, p) for n, k, s, p in zip(shape[2:], kernel, strides, begin, strict=True)]
    want = [c if ceil_mode else f for f, c, _ in sizes]
    if want == [f for f, _, _ in sizes]:
        convention = "valid"
    elif want == [full for _, _, full in sizes]:
        convention = "full"
    else:
        raise Unsupported(
            f"{node.op_type} node {node.name!r}: ceil_mode gives {want}, which neither of MXNet's "
            f"pooling conventions gives"
        )
    return mx.sym.Pooling(
        x,
        kernel=tuple(kernel),
        stride=tuple(strides),
        pad=tuple(begin),
        pool_type="max" if is_max else "avg",
        pooling_convention=convention,
        count_include_pad=include_pad,
        name=_name(node),
    )


@OPS.handles("GlobalAveragePool", "GlobalMaxPool")
def global_pool(g: Graph, node):
    kind = "avg" if node.op_type == "GlobalAveragePool" else "max"
    spatial = g.rank(node.input[0], node) - 2
    return mx.sym.Pooling(
        g.tensor(node.input[0]), kernel=(1,) * spatial, global_pool=True, pool_type=kind, name=_name(node)
    )


ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softrelu", "Softsign": "softsign"}


@OPS.handles(*ACTIVATIONS)
def activation(g: Graph, node):
    return mx.sym.Activation(g.tensor(node.input[0]), act_type=ACTIVATIONS[node.op_type], name=_name(node))


@OPS.handles("LRN")
def lrn(g: Graph, node):
    """Across channels: x / (bias + alpha / size * sum of x^2 over `size` channels)^beta, as MXNet's LRN. An
    even window is refused: ONNX's runs from channel c to c + size / 2, MXNet's from c - size / 2."""
    a = attrs(node)
    if int(a["size"]) % 2 == 0:
        raise Unsupported(
            f"LRN node {node.name!r}: size {a['size']} is even; MXNet's window of an even size is centred one "
            f"channel lower than ONNX's"
        )
    return mx.sym.LRN(
        g.tensor(node.input[0]),
        alpha=float(a.get("alpha", 1e-4)),
        beta=float(a.get("beta", 0.75)),
        knorm=float(a.get("bias", 1.0)),
        nsize=int(a["size"]),
        name=_name(node),
    )


@OPS.handles("LeakyRelu")
def leaky_relu(g: Graph, node):
    return mx.sym.LeakyReLU(
        g.tensor(node.input[0]), act_type="leaky", slope=float(attrs(node).get("alpha", 0.01)), name=_name(node)
    )


@OPS.handles("Elu")
def elu(g: Graph, node):
    return mx.sym.LeakyReLU(
        g.tensor(node.input[0]), act_type="elu", slope=float(attrs(node).get("alpha", 1.0)), name=_name(node)
    )


@OPS.handles("PRelu")
def prelu(g: Graph, node):
    slope = g.constant(node.input[1], node, "slope")
    rank = g.rank(node.input[0], node)
    channels = g.shape(node.input[0])[1] if rank > 1 else None
    # ONNX broadcasts the slope (aligned on the right); MXNet's prelu has one per channel (axis 1), or one
    aligned = (1,) * (rank - slope.ndim) + slope.shape if slope.ndim <= rank else slope.shape
    per_channel = (
        len(aligned) == rank
        and rank > 1
        and aligned[1] == channels
        and all(d == 1 for i, d in enumerate(aligned) if i != 1)
    )
    if slope.size == 1 or per_channel:
        gamma = slope.reshape(-1).astype(np.float32)
        return mx.sym.LeakyReLU(
            g.tensor(node.input[0]), gamma=g.param(node.input[1], gamma), act_type="prelu", name=_name(node)
        )
    raise Unsupported(f"PRelu node {node.name!r}: a slope of shape {list(slope.shape)} is not per channel")


@OPS.handles("Clip")
def clip(g: Graph, node):
    a = attrs(node)
    low = a.get("min", -np.inf)
    high = a.get("max", np.inf)
    if len(node.input) > 1 and node.input[1]:
        low = float(g.constant(node.input[1], node, "min"))
    if len(node.input) > 2 and node.input[2]:
        high = float(g.constant(node.input[2], node, "max"))
    return mx.sym.clip(g.tensor(node.input[0]), a_min=float(low), a_max=float(high), name=_name(node))


@OPS.handles("HardSigmoid")
def hard_sigmoid(g: Graph, node):
    a = attrs(node)
    return mx.sym.hard_sigmoid(
        g.tensor(node.input[0]), alpha=float(a.get("alpha", 0.2)), beta=float(a.get("beta", 0.5)), name=_name(node)
    )


@OPS.handles("HardSwish")
def hard_swish(g: Graph, node):
    x = g.tensor(node.input[0])
    return mx.sym.broadcast_mul(x, mx.sym.hard_sigmoid(x, alpha=1 / 6, beta=0.5), name=_name(node))


BINARY = {
    "Add": mx.sym.broadcast_add,
    "Sub": mx.sym.broadcast_sub,
    "Mul": mx.sym.broadcast_mul,
    "Div": mx.sym.broadcast_div,
    "Pow": mx.sym.broadcast_power,
    "Max": mx.sym.broadcast_maximum,
    "Min": mx.sym.broadcast_minimum,
}


def _operands(g: Graph, names, node) -> list:
    """The symbols of an elementwise op's inputs at one rank: MXNet broadcasts only between equal ranks, so a
    lower-rank operand gets ONNX's leading ones. MXNet's legacy arrays have no rank 0: a scalar is (1,)."""
    rank = max(1, *(g.rank(name, node) for name in names))
    sides = []
    for name in names:
        if name in g.constants and name not in g.symbols:  # at this rank here, its own shape elsewhere
            value = g.constants[name]
            sides.append(g.param(name, value.reshape((1,) * (rank - value.ndim) + value.shape)))
        else:
            sym = g.tensor(name)
            for _ in range(rank - max(1, g.rank(name, node))):  # its rank as MXNet holds it
                sym = mx.sym.expand_dims(sym, axis=0)
            sides.append(sym)
    return sides


@OPS.handles(*BINARY)
def binary(g: Graph, node):
    if len(node.input) != 2:
        raise Unsupported(f"{node.op_type} node {node.name!r} with {len(node.input)} inputs")
    return BINARY[node.op_type](*_operands(g, node.input, node), name=_name(node))


# comparisons and logic: MXNet's symbols have no bool, so a bool tensor is held as 1 and 0 in its operands'
# type (what MXNet's own comparisons give); Where, Not, And, Or and Cast read it so
COMPARE = {
    "Equal": mx.sym.broadcast_equal,
    "Greater": mx.sym.broadcast_greater,
    "Less": mx.sym.broadcast_lesser,
    "GreaterOrEqual": mx.sym.broadcast_greater_equal,
    "LessOrEqual": mx.sym.broadcast_lesser_equal,
}
LOGIC = {"And": mx.sym.broadcast_logical_and, "Or": mx.sym.broadcast_logical_or, "Xor": mx.sym.broadcast_logical_xor}


@OPS.handles(*COMPARE)
def compare(g: Graph, node):
    return COMPARE[node.op_type](*_operands(g, node.input, node), name=_name(node))


@OPS.handles(*LOGIC)
def logic(g: Graph, node):
    """Bools that came from operands of different types (int64 ids, float scores) meet here: as float32."""
    sides = [mx.sym.cast(side, dtype="float32") for side in _operands(g, node.input, node)]
    return LOGIC[node.op_type](*sides, name=_name(node))


@OPS.handles("IsNaN")
def is_nan(g: Graph, node):
    x = g.tensor(node.input[0])
    return mx.sym.broadcast_not_equal(x, x, name=_name(node))  # only NaN differs from itself


@OPS.handles("IsInf")
def is_inf(g: Graph, node):
    a = attrs(node)
    x = g.tensor(node.input[0])
    sides = [
        mx.sym._internal._equal_scalar(x, scalar=sign * float("inf"))
        for sign, wanted in ((1, a.get("detect_positive", 1)), (-1, a.get("detect_negative", 1)))
        if wanted
    ]
    if not sides:
        return mx.sym.zeros_like(x, name=_name(node))
    return sides[0] if len(sides) == 1 else mx.sym.broadcast_logical_or(*sides, name=_name(node))


@OPS.handles("Not")
def not_(g: Graph, node):
    return mx.sym.logical_not(g.tensor(node.input[0]), name=_name(node))


def _broadcast(g: Graph, node, *shapes) -> tuple[int, ...]:
    """ONNX's (numpy's) broadcast of static shapes."""
    if any(shape is None or any(not isinstance(d, int) for d in shape) for shape in shapes):
        raise Unsupported(f"{node.op_type} node {node.name!r}: its operands' shapes are not static")
    return tuple(np.broadcast_shapes(*(tuple(shape) for shape in shapes)))


@OPS.handles("Where")
def where(g: Graph, node):
    """MXNet's where takes three tensors of one shape: each is broadcast to the output's (static) shape."""
    shape = _broadcast(g, node, *(g.shape(name) for name in node.input))
    sides = [mx.sym.broadcast_to(side, shape=shape) for side in _operands(g, node.input, node)]
    return mx.sym.where(*sides, name=_name(node))


@OPS.handles("Expand")
def expand(g: Graph, node):
    """ONNX's bidirectional broadcast of the input's and the given (constant) shape."""
    shape = _broadcast(g, node, g.shape(node.input[0]), [int(d) for d in g.constant(node.input[1], node, "shape")])
    x = g.tensor(node.input[0])
    for _ in range(len(shape) - g.rank(node.input[0], node)):  # leading axes of 1, as ONNX aligns from the right
        x = mx.sym.expand_dims(x, axis=0)
    return mx.sym.broadcast_to(x, shape=shape, name=_name(node))


@OPS.handles("LayerNormalization")
def layer_norm(g: Graph, node):
    """MXNet's LayerNorm normalizes over one axis: ONNX's over the axes from `axis` on, flattened into one
    where there are several (static shapes), with Scale and B broadcast to them."""
    a = attrs(node)
    shape = g.shape(node.input[0])
    if shape is None or any(not isinstance(d, int) for d in shape):
        raise Unsupported(f"LayerNormalization node {node.name!r}: the input's shape is not static")
    rank = len(shape)
    axis = a.get("axis", -1)
    axis = axis + rank if axis < 0 else axis
    normalized = tuple(shape[axis:])
    scale = np.broadcast_to(g.constant(node.input[1], node, "scale"), normalized).reshape(-1)
    bias = (
        np.broadcast_to(g.constant(node.input[2], node, "bias"), normalized).reshape(-1)
        if len(node.input) > 2 and node.input[2]
        else np.zeros_like(scale)
    )
    x = g.tensor(node.input[0])
    flat = axis != rank - 1
    if flat:
        x = mx.sym.reshape(x, shape=tuple(shape[:axis]) + (math.prod(normalized),))
    out = mx.sym.LayerNorm(
        x,
        g.param(f"{node.input[1]}__flat", scale.astype(np.float32)),
        g.param(f"{node.output[0]}__bias", bias.astype(np.float32)),
        axis=-1,
        eps=float(a.get("epsilon", 1e-5)),
        name=f"{_name(node)}__flat" if flat else _name(node),
    )
    return mx.sym.reshape(out, shape=tuple(shape), name=_name(node)) if flat else out


@OPS.handles("Split")
def split(g: Graph, node):
    """Pieces along one axis as slice_axis, one per output (sizes from `split`, or even ones)."""
    a = attrs(node)
    shape = g.shape(node.input[0])
    rank = g.rank(node.input[0], node)
    axis = a.get("axis", 0)
    axis = axis + rank if axis < 0 else axis
    if shape is None or not isinstance(shape[axis], int):
        raise Unsupported(f"Split node {node.name!r}: the size of axis {axis} is unknown")
    if "split" in a:
        sizes = [int(v) for v in a["split"]]
    elif len(node.input) > 1 and node.input[1]:
        sizes = [int(v) for v in g.constant(node.input[1], node, "split")]
    else:
        count = len(node.output)
        sizes = [-(-shape[axis] // count)] * count
        sizes[-1] = shape[axis] - sum(sizes[:-1])
    starts = np.cumsum([0, *sizes[:-1]])
    return [
        mx.sym.slice_axis(g.tensor(node.input[0]), axis=axis, begin=int(start), end=int(start + size), name=out)
        for start, size, out in zip(starts, sizes, node.output, strict=True)
    ]


@OPS.handles("Sum")
def sum_(g: Graph, node):
    """ONNX's variadic, broadcasting Sum (TF's AddN, as tf2onnx writes it): broadcast adds, left to right."""
    sides = _operands(g, node.input, node)
    total = sides[0] if len(sides) > 1 else mx.sym.identity(sides[0], name=_name(node))
    for index, side in enumerate(sides[1:], 1):
        last = index == len(sides) - 1
        total = mx.sym.broadcast_add(total, side, name=_name(node) if last else f"{_name(node)}_{index}")
    return total


UNARY = {
    "Exp": mx.sym.exp,
    "Log": mx.sym.log,
    "Sqrt": mx.sym.sqrt,
    "Abs": mx.sym.abs,
    "Neg": mx.sym.negative,
    "Reciprocal": mx.sym.reciprocal,
    "Floor": mx.sym.floor,
    "Ceil": mx.sym.ceil,
    "Erf": mx.sym.erf,
}


@OPS.handles(*UNARY)
def unary(g: Graph, node):
    return UNARY[node.op_type](g.tensor(node.input[0]), name=_name(node))


@OPS.handles("Identity", "Dropout")
def identity(g: Graph, node):
    """The input's own symbol: a chain of MXNet's _copy (an If's branch passed on by Identity) made its MKLDNN
    subgraph pass lose an argument at bind ("Check failed: in_arg_ctx_map.count(arg_name)"). A graph output
    still gets its own name (stages/mxnet/emit.py)."""
    return g.tensor(node.input[0])


@OPS.handles("Gemm")
def gemm(g: Graph, node):
    a = attrs(node)
    if a.get("transA", 0) or g.rank(node.input[0], node) != 2:
        raise Unsupported(f"Gemm node {node.name!r}: transA or a non-2-d input")
    weight = g.constant(node.input[1], node, "B") * float(a.get("alpha", 1.0))
    if not a.get("transB", 0):
        weight = weight.T
    bias = None
    if len(node.input) > 2 and node.input[2]:
        c = g.constant(node.input[2], node, "C") * float(a.get("beta", 1.0))
        if c.size != weight.shape[0]:
            raise Unsupported(f"Gemm node {node.name!r}: C of shape {list(c.shape)} is not a bias")
        bias = g.param(node.input[2], c.reshape(-1).astype(np.float32))
    return mx.sym.FullyConnected(
        g.tensor(node.input[0]),
        weight=g.param(node.input[1], np.ascontiguousarray(weight)),
        bias=bias,
        num_hidden=weight.shape[0],
        no_bias=bias is None,
        flatten=False,
        name=_name(node),
    )


@OPS.handles("MatMul")
def matmul(g: Graph, node):
    if node.input[1] in g.constants and g.constants[node.input[1]].ndim == 2:
        weight = np.ascontiguousarray(g.constants[node.input[1]].T)
        return mx.sym.FullyConnected(
            g.tensor(node.input[0]),
            weight=g.param(node.input[1], weight),
            num_hidden=weight.shape[0],
            no_bias=True,
            flatten=False,
            name=_name(node),
        )
    return (
        mx.sym.linalg.gemm2(g.tensor(node.input[0]), g.tensor(node.input[1]), name=_name(node))
        if g.rank(node.input[0], node) == g.rank(node.input[1], node)
        else mx.sym.batch_dot(g.tensor(node.input[0]), g.tensor(node.input[1]), name=_name(node))
    )


@OPS.handles("Flatten")
def flatten(g: Graph, node):
    axis = attrs(node).get("axis", 1)
    rank = g.rank(node.input[0], node)
    axis = axis + rank if axis < 0 else axis
    if axis == 1:
        return mx.sym.flatten(g.tensor(node.input[0]), name=_name(node))
    shape = g.shape(node.input[0])
    return mx.sym.reshape(
        g.tensor(node.input[0]), shape=(math.prod(shape[:axis]), math.prod(shape[axis:])), name=_name(node)
    )


def _static_shape(g: Graph, node) -> tuple[int, ...]:
    shape = g.shapes.get(node.output[0])  # ONNX's inference: the output is not built yet
    if shape is None or any(not isinstance(d, int) for d in shape):
        raise Unsupported(f"{node.op_type} node {node.name!r}: its output shape is not static")
    return tuple(shape)


@OPS.handles("Reshape")
def reshape(g: Graph, node):
    # a constant shape (folded, when the graph computes it from Shape) keeps ONNX's 0 (copy) and -1 (infer)
    target = reshape_target(node, g.constants)
    shape = tuple(target) if target is not None else _static_shape(g, node)
    return mx.sym.reshape(g.tensor(node.input[0]), shape=shape, name=_name(node))


@OPS.handles("Squeeze", "Unsqueeze")
def squeeze(g: Graph, node):
    shape = g.shape(node.input[0])
    axes = attrs(node).get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = [int(a) for a in g.constant(node.input[1], node, "axes")]
    if shape is None or any(not isinstance(d, int) for d in shape) or (axes is None and node.op_type == "Unsqueeze"):
        return mx.sym.reshape(g.tensor(node.input[0]), shape=_static_shape(g, node), name=_name(node))
    if node.op_type == "Squeeze":
        rank = len(shape)
        drop = (
            {a + rank if a < 0 else a for a in axes} if axes is not None else {i for i, d in enumerate(shape) if d == 1}
        )
        out = [d for i, d in enumerate(shape) if i not in drop]
    else:
        rank = len(shape) + len(axes)
        add = {a + rank if a < 0 else a for a in axes}
        dims = iter(shape)
        out = [1 if i in add else next(dims) for i in range(rank)]
    return mx.sym.reshape(g.tensor(node.input[0]), shape=tuple(out), name=_name(node))


@OPS.handles("Transpose")
def transpose(g: Graph, node):
    perm = attrs(node).get("perm") or list(reversed(range(g.rank(node.input[0], node))))
    return mx.sym.transpose(g.tensor(node.input[0]), axes=tuple(perm), name=_name(node))


@OPS.handles("Concat")
def concat(g: Graph, node):
    axis = attrs(node)["axis"]
    axis = axis + g.rank(node.output[0], node) if axis < 0 else axis
    return mx.sym.concat(*(g.tensor(name) for name in node.input), dim=axis, name=_name(node))


@OPS.handles("Softmax", "LogSoftmax")
def softmax(g: Graph, node):
    rank = g.rank(node.input[0], node)
    axis = attrs(node).get("axis", -1 if g.opset >= 13 else 1)
    axis = axis + rank if axis < 0 else axis
    fn = mx.sym.softmax if node.op_type == "Softmax" else mx.sym.log_softmax
    if g.opset < 13 and axis != rank - 1:  # before opset 13: over the dims from `axis` on, flattened
        shape = g.shape(node.input[0])
        if shape is None or any(not isinstance(d, int) for d in shape):
            raise Unsupported(
                f"{node.op_type} node {node.name!r}: opset {g.opset} flattens from axis {axis} "
                f"and the input's shape is unknown"
            )
        flat = mx.sym.reshape(g.tensor(node.input[0]), shape=(math.prod(shape[:axis]), math.prod(shape[axis:])))
        return mx.sym.reshape(fn(flat, axis=-1), shape=tuple(shape), name=_name(node))
    return fn(g.tensor(node.input[0]), axis=axis, name=_name(node))


REDUCE = {
    "ReduceMean": mx.sym.mean,
    "ReduceSum": mx.sym.sum,
    "ReduceMax": mx.sym.max,
    "ReduceMin": mx.sym.min,
    "ReduceProd": mx.sym.prod,
    # as ONNX defines them (MXNet's norm over two axes would be a matrix norm)
    "ReduceL1": lambda x, name=None, **kw: mx.sym.sum(mx.sym.abs(x), name=name, **kw),
    "ReduceL2": lambda x, name=None, **kw: mx.sym.sqrt(mx.sym.sum(mx.sym.square(x), **kw), name=name),
    "ReduceSumSquare": lambda x, name=None, **kw: mx.sym.sum(mx.sym.square(x), name=name, **kw),
}


@OPS.handles(*REDUCE)
def reduce(g: Graph, node):
    a = attrs(node)
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = [int(v) for v in g.constant(node.input[1], node, "axes")]
    keep = bool(a.get("keepdims", 1))
    if axes is None:
        return REDUCE[node.op_type](g.tensor(node.input[0]), keepdims=keep, name=_name(node))
    return REDUCE[node.op_type](g.tensor(node.input[0]), axis=tuple(axes), keepdims=keep, name=_name(node))


@OPS.handles("Pad")
def pad(g: Graph, node):
    a = attrs(node)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = [int(v) for v in (a["pads"] if "pads" in a else g.constant(node.input[1], node, "pads"))]
    value = 0.0
    if len(node.input) > 2 and node.input[2]:
        value = float(g.constant(node.input[2], node, "value"))
    rank = len(pads) // 2
    if mode == "constant" and (rank not in (4, 5) or any(pads[:2]) or any(pads[rank : rank + 2])):
        return _pad_by_concat(g, node, pads, value)
    if mode not in ("constant", "edge", "reflect"):
        raise Unsupported(f"Pad node {node.name!r}: mode {mode}")
    x, shape = g.tensor(node.input[0]), g.shape(node.input[0])
    if rank in (2, 3) and not pads[0] and not pads[rank] and shape and all(isinstance(d, int) for d in shape):
        # MXNet pads 4-d data: a 2-d or 3-d tensor is padded as a 4-d view with its last axes at the end
        lead = 4 - rank
        view = [0] * (2 * lead) + [w for axis in range(rank) for w in (pads[axis], pads[axis + rank])]
        padded = mx.sym.pad(
            mx.sym.reshape(x, shape=(1,) * lead + tuple(shape)), mode=mode, pad_width=tuple(view), constant_value=value
        )
        out = [d + pads[axis] + pads[axis + rank] for axis, d in enumerate(shape)]
        return mx.sym.reshape(padded, shape=tuple(out), name=_name(node))
    if rank not in (4, 5) or any(pads[:2]) or any(pads[rank : rank + 2]):
        raise Unsupported(
            f"Pad node {node.name!r}: MXNet pads only the spatial axes of 4-d and 5-d data (pads {pads}, mode {mode})"
        )
    width = [w for axis in range(rank) for w in (pads[axis], pads[axis + rank])]
    return mx.sym.pad(x, mode=mode, pad_width=tuple(width), constant_value=value, name=_name(node))


def _pad_by_concat(g: Graph, node, pads: list[int], value: float):
    """Constant padding on any axis, exactly: blocks of the pad value concatenated along each padded axis."""
    shape = g.shape(node.input[0])
    rank = len(pads) // 2
    if shape is None or any(not isinstance(d, int) for d in shape) or any(p < 0 for p in pads):
        raise Unsupported(
            f"Pad node {node.name!r}: pads {pads} on axes MXNet's pad does not take, and the "
            f"input's shape is unknown (or the pads crop)"
        )
    x, shape = g.tensor(node.input[0]), list(shape)
    for axis in range(rank):
        before, after = pads[axis], pads[axis + rank]
        if not (before or after):
            continue
        parts = []
        for side, count in (("before", before), ("after", after)):
            if count:
                block = np.full([*shape[:axis], count, *shape[axis + 1 :]], value, np.float32)
                parts.append((side, g.param(f"{node.name}_pad_{side}_{axis}", block)))
        x = mx.sym.concat(
            *[p for side, p in parts if side == "before"], x, *[p for side, p in parts if side == "after"], dim=axis
        )
        shape[axis] += before + after
    return mx.sym.identity(x, name=_name(node))


@OPS.handles("ArgMax", "ArgMin")
def arg_max(g: Graph, node):
    """MXNet's argmax (the first index among equal values, ONNX's default), made int64 as ONNX's is."""
    a = attrs(node)
    if a.get("select_last_index", 0):
        raise Unsupported(f"{node.op_type} node {node.name!r}: select_last_index (MXNet's picks the first)")
    pick = mx.sym.argmax if node.op_type == "ArgMax" else mx.sym.argmin
    index = pick(
        g.tensor(node.input[0]), axis=a.get("axis", 0), keepdims=bool(a.get("keepdims", 1)), name=f"{_name(node)}_float"
    )
    return mx.sym.cast(index, dtype="int64", name=_name(node))


@OPS.handles("Cast")
def cast(g: Graph, node):
    from onnx import helper

    dtype = helper.tensor_dtype_to_np_dtype(attrs(node)["to"])
    if dtype == np.bool_:  # a bool is held as 1 and 0 in the operand's type (see COMPARE)
        return mx.sym._internal._not_equal_scalar(g.tensor(node.input[0]), scalar=0.0, name=_name(node))
    return mx.sym.cast(g.tensor(node.input[0]), dtype=np.dtype(dtype).name, name=_name(node))


@OPS.handles("Slice")
def slice_(g: Graph, node):
    shape = g.shape(node.input[0])
    if shape is None or any(not isinstance(d, int) for d in shape):
        raise Unsupported(f"Slice node {node.name!r}: the input's shape is unknown")
    rank = len(shape)
    starts, ends, axes, steps = slice_params(node, g.constant, rank)
    begin, end, step = [None] * rank, [None] * rank, [None] * rank
    for axis, start, stop, stride in zip(axes, starts, ends, steps, strict=True):
        n = shape[axis]
        start, stop = int(start), int(stop)
        start = max(-1 if stride < 0 else 0, min(start + n if start < 0 else start, n - 1 if stride < 0 else n))
        stop = max(-1, min(stop + n if stop < 0 else stop, n))
        begin[axis], end[axis], step[axis] = start, (None if stop < 0 else stop), stride
    return mx.sym.slice(g.tensor(node.input[0]), begin=tuple(begin), end=tuple(end), step=tuple(step), name=_name(node))


@OPS.handles("Resize", "Upsample")
def resize(g: Graph, node):
    """A nearest Resize that repeats each element k times on both spatial axes (decided against ONNX's own
    index formula, stages/onnx/resize.py) is UpSampling; a linear one in PyTorch's coordinates is
    BilinearResize2D; anything else is refused, naming why."""
    shape_in, shape_out = g.shape(node.input[0]), g.shape(node.output[0])
    if attrs(node).get("mode", b"nearest") in (b"linear", "linear"):
        corners = bilinear(node, shape_in, shape_out, g.constants, "MXNet")
        return mx.sym.contrib.BilinearResize2D(
            g.tensor(node.input[0]), height=shape_out[2], width=shape_out[3], align_corners=corners, name=_name(node)
        )
    kh, kw = nearest_factors(node, shape_in, shape_out, g.constants, "MXNet")
    if kh != kw:
        raise Unsupported(
            f"{node.op_type} node {node.name!r}: factors {kh}x{kw}; MXNet's UpSampling scales both axes alike"
        )
    return mx.sym.UpSampling(g.tensor(node.input[0]), scale=kh, sample_type="nearest", num_args=1, name=_name(node))


@OPS.handles("Einsum")
def einsum(g: Graph, node):
    """A two-operand Einsum as one batched matrix product between transposes and reshapes (the einsum
    pass's plan, at the shapes MXNet infers where ONNX's inference could not tell them)."""
    found = einsum_plan.plan(einsum_plan.equation_of(node), [g.shape(name) for name in node.input])
    if found is None:
        raise Unsupported(
            f"Einsum node {node.name!r}: {einsum_plan.equation_of(node)!r} is not one batched "
            f"matrix product of static shapes"
        )
    left, right, out, sizes, batch, contracted, own_left, own_right = found

    def flat(indices) -> int:
        return math.prod(sizes[i] for i in indices)

    def prepared(name: str, term: str, order: list[str], dims: tuple[int, int, int]):
        moved = mx.sym.transpose(g.tensor(name), axes=tuple(term.index(i) for i in order))
        return mx.sym.reshape(moved, shape=dims)

    a = prepared(node.input[0], left, batch + own_left + contracted, (flat(batch), flat(own_left), flat(contracted)))
    b = prepared(node.input[1], right, batch + contracted + own_right, (flat(batch), flat(contracted), flat(own_right)))
    produced = batch + own_left + own_right
    product = mx.sym.reshape(mx.sym.batch_dot(a, b), shape=tuple(sizes[i] for i in produced) or (1,))
    return mx.sym.transpose(product, axes=tuple(produced.index(i) for i in out), name=_name(node))


@OPS.handles("GatherND")
def gather_nd(g: Graph, node):
    """MXNet's gather_nd reads each index tuple down its indices' first axis, ONNX's along the last: the
    indices are transposed so. batch_dims > 0 is refused."""
    if attrs(node).get("batch_dims", 0):
        raise Unsupported(f"GatherND node {node.name!r}: batch_dims {attrs(node)['batch_dims']}")
    rank = g.rank(node.input[1], node)
    indices = mx.sym.transpose(g.tensor(node.input[1]), axes=(rank - 1, *range(rank - 1)))
    return mx.sym.gather_nd(g.tensor(node.input[0]), indices, name=_name(node))


@OPS.handles("Gather")
def gather(g: Graph, node):
    rank = g.rank(node.input[0], node)
    axis = attrs(node).get("axis", 0)
    axis = axis + rank if axis < 0 else axis
    if node.input[1] not in g.constants:  # token ids, computed or fed: take, a negative index from the end
        return mx.sym.take(g.tensor(node.input[0]), g.tensor(node.input[1]), axis=axis, mode="wrap", name=_name(node))
    indices = g.constant(node.input[1], node, "indices")
    shape = g.shape(node.input[0])
    if shape is None or not isinstance(shape[axis], int):
        raise Unsupported(f"Gather node {node.name!r}: the size of axis {axis} is unknown")
    indices = np.where(indices < 0, indices + shape[axis], indices)
    if indices.ndim == 0:  # one index: the axis goes away
        part = mx.sym.slice_axis(g.tensor(node.input[0]), axis=axis, begin=int(indices), end=int(indices) + 1)
        return mx.sym.reshape(part, shape=_static_shape(g, node), name=_name(node))
    return mx.sym.take(
        g.tensor(node.input[0]),
        g.param(node.input[1], indices.astype(np.int64)),
        axis=axis,
        mode="raise",
        name=_name(node),
    )
