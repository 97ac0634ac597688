"""ONNX ops as Caffe layers, one handler per op (the Caffe target's emitter, stages/caffe/net.py).

Every top is named after the ONNX tensor it holds, so the net's outputs keep the model's names. Where
BVLC Caffe 1.0 has no layer for an op, it is composed exactly from layers it has (asymmetric padding as a
shifted symmetric pad and a Crop, a constant Pad as Concat with constant blocks, HardSwish as Power, Clip
and Eltwise, a Transpose as a BatchReindex of rows …) or refused naming the op and the node (an
AveragePool that excludes its padding, a reflect Pad …): never an approximation. Notes from its code
(../shared/TARGETS.md): Pooling rounds up unless round_mode is FLOOR, and drops a last window that would start
in the padding, as ONNX does; BatchNorm divides its statistics by blob 2 (written as 1) and is followed by
Scale for gamma and beta; Eltwise does not broadcast (per-channel constants are Scale or Bias layers on axis
1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stages.caffe.prototxt import Enum, Layer
from stages.onnx.emitter import OpTable, Unsupported, attrs, reshape_target, slice_params
from stages.onnx.resize import linear_kernels, linear_strides, nearest_factors

LAYERS = OpTable("Caffe")


@dataclass
class Net:
    """What the handlers share: constants, shapes at the signature's input shapes, the layers made, and
    the tensors that are another's alias (Identity, Dropout)."""

    constants: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)
    layers: list = field(default_factory=list)
    alias: dict = field(default_factory=dict)
    integral: set = field(default_factory=set)  # tensors of an integer type (held as floats, exactly)
    read: set = field(default_factory=set)  # the tensors some node or the graph's outputs read
    blobs: set = field(default_factory=set)  # the constants given a Parameter layer of their own
    opset: int = 13

    def name(self, tensor: str) -> str:
        return self.alias.get(tensor, tensor)

    def shape(self, tensor: str) -> list | None:
        if tensor in self.constants:
            return list(self.constants[tensor].shape)
        return self.shapes.get(tensor)

    def constant(self, tensor: str, node, what: str) -> np.ndarray:
        if tensor not in self.constants:
            raise Unsupported(
                f"{node.op_type} node {node.name!r}: its {what} ({tensor}) is computed in the graph; "
                f"Caffe needs it constant"
            )
        return self.constants[tensor]

    def blob(self, constant: str) -> str:
        """A constant as a blob a layer can take: a Parameter layer holding it, made once."""
        top = f"{constant}/blob"
        if top not in self.blobs:
            value = np.asarray(self.constants[constant], np.float32)
            self.layers.append(
                Layer(
                    top,
                    "Parameter",
                    [],
                    [top],
                    {"parameter_param": {"shape": {"dim": list(value.shape) or [1]}}},
                    [value.reshape(value.shape or (1,))],
                )
            )
            self.blobs.add(top)
        return top

    def add(
        self,
        node,
        kind: str,
        bottoms: list[str],
        params: dict | None = None,
        blobs: list | None = None,
        top: str | None = None,
    ) -> str:
        top = top or node.output[0]
        bottoms = [self.blob(b) if b in self.constants else b for b in bottoms]
        self.layers.append(
            Layer(
                top,
                kind,
                [self.name(b) for b in bottoms],
                [top],
                params or {},
                [np.ascontiguousarray(b, np.float32) for b in blobs or []],
            )
        )
        return top


def _symmetric_pads(node, spatial: int) -> list[int]:
    a = attrs(node)
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise Unsupported(f"{node.op_type} node {node.name!r}: auto_pad; export with explicit pads")
    pads = list(a.get("pads", [0] * 2 * spatial))
    if pads[:spatial] != pads[spatial:]:
        raise Unsupported(f"{node.op_type} node {node.name!r}: asymmetric padding {pads}, which Caffe cannot express")
    return pads[:spatial]


def _hw(values: list[int], node) -> tuple[int, int]:
    if len(values) != 2:
        raise Unsupported(f"{node.op_type} node {node.name!r}: {len(values)}-d, Caffe's layer here is 2-d")
    return values[0], values[1]


@LAYERS.handles("Conv")
def conv(net: Net, node):
    a = attrs(node)
    weight = net.constant(node.input[1], node, "weight")
    kh, kw = _hw(list(weight.shape[2:]), node)
    sh, sw = _hw(list(a.get("strides", [1, 1])), node)
    dh, dw = _hw(list(a.get("dilations", [1, 1])), node)
    if dh != dw:
        raise Unsupported(f"Conv node {node.name!r}: dilations {dh}x{dw}; Caffe's is one for both axes")
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise Unsupported(f"Conv node {node.name!r}: auto_pad; export with explicit pads")
    pads = list(a.get("pads", [0, 0, 0, 0]))
    _hw(pads[:2], node)
    # asymmetric pads (TF's SAME): a symmetric pad that starts the windows one or more strides early,
    # then a crop of those first outputs (and of the extra last ones) to ONNX's output, exactly
    shifts = [
        -(-(end - begin) // stride) if end > begin else 0 for begin, end, stride in zip(pads[:2], pads[2:], (sh, sw))
    ]
    ph, pw = (begin + shift * stride for begin, shift, stride in zip(pads[:2], shifts, (sh, sw)))
    cropped = pads[:2] != pads[2:]
    bias = net.constant(node.input[2], node, "bias") if len(node.input) > 2 and node.input[2] else None
    params = {
        "num_output": weight.shape[0],
        "bias_term": bias is not None,
        "kernel_h": kh,
        "kernel_w": kw,
        "stride_h": sh,
        "stride_w": sw,
        "pad_h": ph,
        "pad_w": pw,
        "group": a.get("group", 1),
    }
    if dh != 1:
        params["dilation"] = dh
    top = net.add(
        node,
        "Convolution",
        [node.input[0]],
        {"convolution_param": params},
        [weight] + ([bias] if bias is not None else []),
        top=f"{node.output[0]}/uncropped" if cropped else None,
    )
    if not cropped:
        return top
    shape = net.shapes.get(node.output[0])
    if not shape or len(shape) != 4 or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"Conv node {node.name!r}: asymmetric padding {pads} on a map of unknown size")
    return _crop(net, node, top, shape, 2, shifts)


def _crop(net: Net, node, bottom: str, shape: list[int], axis: int, offsets: list[int], top: str | None = None) -> str:
    """`bottom` cropped to `shape` from `axis` on, at `offsets`. Crop takes its output shape from a second
    bottom: a constant blob of that shape (batch 1, as the net's inputs are declared)."""
    top = top or node.output[0]
    reference = net.add(
        node, "DummyData", [], {"dummy_data_param": {"shape": {"dim": list(shape)}}}, top=f"{top}/shape"
    )
    return net.add(node, "Crop", [bottom, reference], {"crop_param": {"axis": axis, "offset": offsets}}, top=top)


@LAYERS.handles("ConvTranspose")
def conv_transpose(net: Net, node):
    """Caffe's Deconvolution: the same weight layout as ONNX's (in, out / group, kh, kw). Symmetric pads are
    its own; asymmetric pads or an output_padding (the extra rows ONNX adds at the end) are a Deconvolution
    without padding and a Crop to ONNX's output, where that output lies inside the unpadded one (an
    output_padding up to the end pad). output_shape is refused."""
    a = attrs(node)
    weight = net.constant(node.input[1], node, "weight")
    kh, kw = _hw(list(weight.shape[2:]), node)
    sh, sw = _hw(list(a.get("strides", [1, 1])), node)
    dh, dw = _hw(list(a.get("dilations", [1, 1])), node)
    if dh != dw:
        raise Unsupported(f"ConvTranspose node {node.name!r}: dilations {dh}x{dw}; Caffe's is one for both axes")
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") or "output_shape" in a:
        raise Unsupported(f"ConvTranspose node {node.name!r}: auto_pad or output_shape; export with explicit pads")
    pads = list(a.get("pads", [0, 0, 0, 0]))
    extra = list(a.get("output_padding", [0, 0]))
    cropped = pads[:2] != pads[2:] or any(extra)
    if cropped and any(e > end for e, end in zip(extra, pads[2:])):
        raise Unsupported(
            f"ConvTranspose node {node.name!r}: output_padding {extra} past its end pads {pads[2:]}; "
            f"Caffe's Deconvolution makes no rows beyond its kernel's reach"
        )
    group = a.get("group", 1)
    bias = net.constant(node.input[2], node, "bias") if len(node.input) > 2 and node.input[2] else None
    params = {
        "num_output": weight.shape[1] * group,
        "bias_term": bias is not None,
        "kernel_h": kh,
        "kernel_w": kw,
        "stride_h": sh,
        "stride_w": sw,
        "pad_h": 0 if cropped else pads[0],
        "pad_w": 0 if cropped else pads[1],
        "group": group,
    }
    if dh != 1:
        params["dilation"] = dh
    top = net.add(
        node,
        "Deconvolution",
        [node.input[0]],
        {"convolution_param": params},
        [weight] + ([bias] if bias is not None else []),
        top=f"{node.output[0]}/uncropped" if cropped else None,
    )
    if not cropped:
        return top
    shape = net.shapes.get(node.output[0])
    if not shape or len(shape) != 4 or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"ConvTranspose node {node.name!r}: padding {pads} on a map of unknown size")
    return _crop(net, node, top, shape, 2, pads[:2])


@LAYERS.handles("BatchNormalization")
def batch_norm(net: Net, node):
    if len(node.output) > 1 and any(node.output[1:]):
        raise Unsupported(f"BatchNormalization node {node.name!r} is in training mode")
    gamma, beta, mean, var = (
        net.constant(n, node, what) for n, what in zip(node.input[1:], ("scale", "bias", "mean", "variance"))
    )
    eps = float(attrs(node).get("epsilon", 1e-5))
    normalized = net.add(
        node,
        "BatchNorm",
        [node.input[0]],
        {"batch_norm_param": {"use_global_stats": True, "eps": eps}},
        [mean, var, np.ones(1)],
        top=f"{node.output[0]}/normalized",
    )
    return net.add(node, "Scale", [normalized], {"scale_param": {"bias_term": True}}, [gamma, beta])


@LAYERS.handles("Relu")
def relu(net: Net, node):
    return net.add(node, "ReLU", [node.input[0]])


@LAYERS.handles("LeakyRelu")
def leaky_relu(net: Net, node):
    return net.add(
        node, "ReLU", [node.input[0]], {"relu_param": {"negative_slope": float(attrs(node).get("alpha", 0.01))}}
    )


@LAYERS.handles("PRelu")
def prelu(net: Net, node):
    slope = net.constant(node.input[1], node, "slope")
    shape = net.shape(node.input[0])
    channels = shape[1] if shape and len(shape) > 1 else None
    aligned = (1,) * (len(shape) - slope.ndim) + slope.shape if shape and slope.ndim <= len(shape) else slope.shape
    if slope.size == 1:
        return net.add(node, "PReLU", [node.input[0]], {"prelu_param": {"channel_shared": True}}, [slope.reshape(1)])
    if (
        channels
        and len(aligned) == len(shape)
        and aligned[1] == channels
        and all(d == 1 for i, d in enumerate(aligned) if i != 1)
    ):
        return net.add(node, "PReLU", [node.input[0]], {}, [slope.reshape(-1)])
    raise Unsupported(f"PRelu node {node.name!r}: a slope of shape {list(slope.shape)} is not per channel")


@LAYERS.handles("Neg")
def neg(net: Net, node):
    return net.add(node, "Power", [node.input[0]], {"power_param": {"power": 1.0, "scale": -1.0}})


def _hard_sigmoid(net: Net, node, alpha: float, beta: float, top: str | None = None) -> str:
    """clip(alpha * x + beta, 0, 1), ONNX's definition, as Power then Clip."""
    line = net.add(
        node,
        "Power",
        [node.input[0]],
        {"power_param": {"power": 1.0, "scale": alpha, "shift": beta}},
        top=f"{node.output[0]}/affine",
    )
    return net.add(node, "Clip", [line], {"clip_param": {"min": 0.0, "max": 1.0}}, top=top)


@LAYERS.handles("HardSigmoid")
def hard_sigmoid(net: Net, node):
    a = attrs(node)
    return _hard_sigmoid(net, node, float(a.get("alpha", 0.2)), float(a.get("beta", 0.5)))


@LAYERS.handles("HardSwish")
def hard_swish(net: Net, node):
    gate = _hard_sigmoid(net, node, 1 / 6, 0.5, top=f"{node.output[0]}/gate")
    return net.add(node, "Eltwise", [node.input[0], gate], {"eltwise_param": {"operation": Enum("PROD")}})


@LAYERS.handles("Sigmoid")
def sigmoid(net: Net, node):
    return net.add(node, "Sigmoid", [node.input[0]])


@LAYERS.handles("Tanh")
def tanh(net: Net, node):
    return net.add(node, "TanH", [node.input[0]])


# ONNX ops that are one Caffe layer without parameters
PLAIN = {"Abs": "AbsVal", "Exp": "Exp", "Log": "Log"}


@LAYERS.handles(*PLAIN)
def plain(net: Net, node):
    return net.add(node, PLAIN[node.op_type], [node.input[0]])


POWERS = {"Sqrt": 0.5, "Reciprocal": -1.0}


@LAYERS.handles("Pow", *POWERS)
def power(net: Net, node):
    """x to a constant power (Pow with one exponent, Sqrt, Reciprocal): Caffe's Power layer."""
    exponent = POWERS.get(node.op_type)
    if exponent is None:
        value = net.constant(node.input[1], node, "exponent")
        if value.size != 1:
            raise Unsupported(
                f"Pow node {node.name!r}: an exponent of shape {list(value.shape)}; Caffe's Power takes one"
            )
        exponent = float(value.reshape(-1)[0])
    return net.add(node, "Power", [node.input[0]], {"power_param": {"power": exponent}})


@LAYERS.handles("Clip")
def clip(net: Net, node):
    """Both bounds constant: Caffe's Clip. A lower bound of 0 alone: ReLU. Otherwise (one bound, or a bound
    the graph computes, as a melspectrogram's top_db floor): Eltwise MAX with the lower bound, then MIN
    with the upper, each broadcast to the tensor (stages/caffe/layers._elementwise)."""
    from onnx import helper

    a, top = attrs(node), node.output[0]
    bounds = {"min": a.get("min"), "max": a.get("max")}
    for index, key in ((1, "min"), (2, "max")):
        if len(node.input) > index and node.input[index]:
            name = node.input[index]
            bounds[key] = float(net.constants[name].reshape(-1)[0]) if name in net.constants else name
    low, high = bounds["min"], bounds["max"]
    if isinstance(low, float) and isinstance(high, float):
        return net.add(node, "Clip", [node.input[0]], {"clip_param": {"min": low, "max": high}})
    if low == 0.0 and high is None:
        return net.add(node, "ReLU", [node.input[0]])
    current = node.input[0]
    for op, key, bound in (("Max", "min", low), ("Min", "max", high)):
        if bound is None:
            continue
        if isinstance(bound, float):
            bound, net.constants[f"{top}/{key}_value"] = f"{top}/{key}_value", np.array(bound, np.float32)
        last = op == "Min" or high is None
        step = helper.make_node(op, [current, bound], [top if last else f"{top}/{key}_bounded"], name=node.name)
        current = _elementwise(net, step, [current, bound])
    return current


@LAYERS.handles("MaxPool", "AveragePool")
def pool(net: Net, node):
    a = attrs(node)
    kh, kw = _hw(list(a["kernel_shape"]), node)
    sh, sw = _hw(list(a.get("strides", [1, 1])), node)
    if any(d != 1 for d in a.get("dilations", [1, 1])):
        raise Unsupported(f"{node.op_type} node {node.name!r}: dilated pooling")
    is_max = node.op_type == "MaxPool"
    round_mode = "CEIL" if a.get("ceil_mode", 0) else "FLOOR"
    if is_max:  # padding is never the maximum: Caffe's windows, clipped to the map, start where ONNX's do
        ph, pw, round_mode = _max_pool_padding(net, node, (kh, kw), (sh, sw), bool(a.get("ceil_mode", 0)))
    elif any(a.get("pads", [])) and not a.get("count_include_pad", 0):
        return _average_without_padding(net, node, (kh, kw), (sh, sw), list(a["pads"]), bool(a.get("ceil_mode", 0)))
    else:
        ph, pw = _hw(_symmetric_pads(node, 2), node)
    params = {
        "pool": Enum("MAX" if is_max else "AVE"),
        "kernel_h": kh,
        "kernel_w": kw,
        "stride_h": sh,
        "stride_w": sw,
        "pad_h": ph,
        "pad_w": pw,
        "round_mode": Enum(round_mode),
    }
    return net.add(node, "Pooling", [node.input[0]], {"pooling_param": params})


def _average_without_padding(net: Net, node, kernel, strides, pads: list[int], ceil: bool) -> str:
    """An AveragePool that leaves its padding out of each average (ONNX's default; TF's SAME): the input
    padded with zeros (_constant_pad), Caffe's average over whole windows (the sum / kh*kw), and each output
    scaled by kh*kw over the number of its window's elements inside the input (a constant map; Scale)."""
    shape = net.shape(node.input[0])
    if ceil or not shape or len(shape) != 4 or not all(isinstance(d, int) for d in shape):
        raise Unsupported(
            f"AveragePool node {node.name!r}: padding left out of the average with ceil_mode or on "
            f"a map of unknown size"
        )
    top, (kh, kw), (sh, sw) = node.output[0], kernel, strides
    padded = _constant_pad(
        net,
        node,
        node.input[0],
        list(shape),
        [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]],
        0.0,
        f"{top}/zero_padded",
    )
    summed = net.add(
        node,
        "Pooling",
        [padded],
        {
            "pooling_param": {
                "pool": Enum("AVE"),
                "kernel_h": kh,
                "kernel_w": kw,
                "stride_h": sh,
                "stride_w": sw,
                "round_mode": Enum("FLOOR"),
            }
        },
        top=f"{top}/whole_windows",
    )
    counts = []
    for size, k, s, begin, end in zip(shape[2:], kernel, strides, pads[:2], pads[2:]):
        starts = np.arange(0, size + begin + end - k + 1, s) - begin  # each window's first row, in the input
        counts.append(np.minimum(starts + k, size) - np.maximum(starts, 0))
    ratio = (kh * kw) / np.outer(counts[0], counts[1])
    net.shapes.setdefault(top, [*shape[:2], *ratio.shape])
    return net.add(
        node,
        "Scale",
        [summed],
        {"scale_param": {"axis": 2, "num_axes": 2, "bias_term": False}},
        [ratio.astype(np.float32)],
    )


def _onnx_pool_size(n: int, k: int, s: int, begin: int, end: int, ceil: bool) -> int:
    span = n + begin + end - k
    out = (-(-span // s) if ceil else span // s) + 1
    return out - 1 if ceil and (out - 1) * s >= n + begin else out


def _caffe_pool_size(n: int, k: int, s: int, pad: int, mode: str, padded: bool) -> int:
    """Caffe's PoolingLayer::Reshape: the last window is dropped when it would start in the padding,
    checked whenever either axis is padded."""
    span = n + 2 * pad - k
    out = (-(-span // s) if mode == "CEIL" else span // s) + 1
    return out - 1 if padded and (out - 1) * s >= n + pad else out


def _max_pool_padding(net: Net, node, kernel, strides, ceil: bool) -> tuple[int, int, str]:
    """Caffe's pad (the begin pads) and round_mode that give ONNX's output size, asymmetric pads included
    (TF's SAME pads only at the end): the windows start at the same places, and Caffe clips them to the
    map as the max over ONNX's padding would. Refused where no round mode gives ONNX's size."""
    pads = list(attrs(node).get("pads", [0, 0, 0, 0]))
    shape = net.shape(node.input[0])
    if pads[:2] == pads[2:]:
        return pads[0], pads[1], "CEIL" if ceil else "FLOOR"
    if not shape or len(shape) != 4 or not all(isinstance(d, int) for d in shape[2:]):
        raise Unsupported(f"MaxPool node {node.name!r}: asymmetric padding {pads} on a map of unknown size")
    want = [
        _onnx_pool_size(n, k, s, b, e, ceil) for n, k, s, b, e in zip(shape[2:], kernel, strides, pads[:2], pads[2:])
    ]
    for mode in ("FLOOR", "CEIL"):
        padded = bool(pads[0] or pads[1])
        if [
            _caffe_pool_size(n, k, s, b, mode, padded) for n, k, s, b in zip(shape[2:], kernel, strides, pads[:2])
        ] == want:
            return pads[0], pads[1], mode
    raise Unsupported(f"MaxPool node {node.name!r}: asymmetric padding {pads}, which no Caffe round mode matches")


@LAYERS.handles("GlobalAveragePool", "GlobalMaxPool")
def global_pool(net: Net, node):
    """Caffe's global Pooling, which takes 4-d blobs only: a 1-d or 3-d map is pooled as [N, C, 1, L]."""
    kind = Enum("AVE" if node.op_type == "GlobalAveragePool" else "MAX")
    shape = net.shape(node.input[0]) or []
    if len(shape) == 4:
        return net.add(node, "Pooling", [node.input[0]], {"pooling_param": {"pool": kind, "global_pooling": True}})
    if len(shape) < 3 or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"{node.op_type} node {node.name!r}: a map of shape {shape}")
    top = node.output[0]
    flat = net.add(
        node, "Reshape", [node.input[0]], {"reshape_param": {"shape": {"dim": [*shape[:2], 1, -1]}}}, top=f"{top}/map"
    )
    pooled = net.add(
        node, "Pooling", [flat], {"pooling_param": {"pool": kind, "global_pooling": True}}, top=f"{top}/pooled"
    )
    net.shapes.setdefault(top, [*shape[:2], *[1] * (len(shape) - 2)])
    return net.add(node, "Reshape", [pooled], {"reshape_param": {"shape": {"dim": net.shapes[top]}}})


def _per_block(net: Net, value: np.ndarray, tensor: str) -> tuple[int, np.ndarray] | None:
    """A constant that broadcasts over `tensor` as one value per element of a run of its axes (per channel:
    axis 1; per feature: the last), as (the run's first axis, the values shaped as the run): Caffe's Scale
    and Bias broadcast a blob over such a run."""
    shape = net.shape(tensor)
    if not shape or value.ndim > len(shape) or not all(isinstance(d, int) for d in shape):
        return None
    aligned = (1,) * (len(shape) - value.ndim) + value.shape
    spread = [i for i, d in enumerate(aligned) if d != 1]
    if not spread:
        return None
    first, last = spread[0], spread[-1]
    if first == 0 or any(aligned[i] != shape[i] for i in range(first, last + 1)):
        return None
    return first, value.reshape(aligned[first : last + 1])


def _channel_tensor(net: Net, left: str, right: str) -> bool:
    """`right` is one value per sample and channel of `left` ([N, C, 1, 1] against [N, C, H, W])."""
    a, b = net.shape(left), net.shape(right)
    return bool(
        a
        and b
        and len(a) == len(b) >= 3
        and b[:2] == a[:2]
        and all(d == 1 for d in b[2:])
        and any(d != 1 for d in a[2:])
    )


@LAYERS.handles("Add", "Sub", "Mul", "Div")
def arithmetic(net: Net, node):
    left, right = node.input
    op = node.op_type
    if left in net.constants and op in ("Add", "Mul"):
        left, right = right, left
    if left in net.constants:  # a constant minuend or dividend
        return _elementwise(net, node, [left, right])
    if right not in net.constants and op == "Mul" and _channel_tensor(net, left, right):
        # squeeze-excite: x [N, C, H, W] times s [N, C, 1, 1]; Scale takes s as its second bottom once it
        # is shaped [N, C], matching x's first two axes
        flat = net.add(
            node, "Reshape", [right], {"reshape_param": {"shape": {"dim": [0, -1]}}}, top=f"{node.output[0]}/by_channel"
        )
        return net.add(node, "Scale", [left, flat], {"scale_param": {"axis": 0, "bias_term": False}})
    value = net.constants[right].astype(np.float64) if right in net.constants else None
    block = _per_block(net, value, left) if value is not None and value.size > 1 else None
    if value is None or (value.size > 1 and block is None):
        return _elementwise(net, node, [left, right])
    if value.size == 1:
        v = float(value.reshape(-1)[0])
        if op == "Div" and v == 0:
            raise Unsupported(f"Div node {node.name!r}: a division by the constant 0")
        power = {"Add": {"shift": v}, "Sub": {"shift": -v}, "Mul": {"scale": v}}.get(op) or {"scale": 1.0 / v}
        return net.add(node, "Power", [left], {"power_param": {"power": 1.0, **power}})
    axis, block = block
    run = {"axis": axis, "num_axes": block.ndim}
    if op in ("Add", "Sub"):
        return net.add(node, "Bias", [left], {"bias_param": run}, [block if op == "Add" else -block])
    return net.add(
        node, "Scale", [left], {"scale_param": {**run, "bias_term": False}}, [block if op == "Mul" else 1.0 / block]
    )


@LAYERS.handles("Sum", "Max", "Min")
def variadic(net: Net, node):
    if len(node.input) == 1:
        return net.add(node, "Power", [node.input[0]], {"power_param": {"power": 1.0}})
    return _elementwise(net, node, list(node.input))


def _elementwise(net: Net, node, names: list[str]) -> str:
    """Tensors (or constants) combined element by element as ONNX broadcasts them: each brought to the
    output's shape (a constant as a Parameter blob; an axis of 1 repeated by Tile), then one Eltwise. Sub
    is SUM with coefficients 1 and -1; Min is -max(-a, -b); Div multiplies by the divisor's reciprocal
    (Power -1: within a rounding of the quotient)."""
    shapes = [net.shape(name) for name in names]
    if any(shape is None or not all(isinstance(d, int) for d in shape) for shape in shapes):
        raise Unsupported(f"{node.op_type} node {node.name!r}: shapes {shapes}; Caffe's Eltwise needs them static")
    out = list(np.broadcast_shapes(*[tuple(shape) for shape in shapes]))
    net.shapes.setdefault(node.output[0], out)
    tops = [
        _broadcast(net, node, name, shape, out, f"{node.output[0]}/{index}")
        for index, (name, shape) in enumerate(zip(names, shapes))
    ]
    op = node.op_type
    if op == "Div":
        tops[1] = net.add(
            node, "Power", [tops[1]], {"power_param": {"power": -1.0}}, top=f"{node.output[0]}/reciprocal"
        )
    if op == "Min":
        tops = [net.add(node, "Power", [top], {"power_param": {"scale": -1.0}}, top=f"{top}/negated") for top in tops]
        most = net.add(
            node, "Eltwise", tops, {"eltwise_param": {"operation": Enum("MAX")}}, top=f"{node.output[0]}/max"
        )
        return net.add(node, "Power", [most], {"power_param": {"scale": -1.0}})
    params = {"operation": Enum({"Mul": "PROD", "Div": "PROD", "Max": "MAX"}.get(op, "SUM"))}
    if op == "Sub":
        params["coeff"] = [1.0, -1.0]
    return net.add(node, "Eltwise", tops, {"eltwise_param": params})


def _broadcast(net: Net, node, name: str, shape: list[int], out: list[int], top: str) -> str:
    """`name` (a tensor or a constant) at the shape `out` it broadcasts to, as a blob."""
    aligned = [1] * (len(out) - len(shape)) + list(shape)
    current = list(shape)
    if name in net.constants:  # its Parameter blob (Net.blob), shared by every layer that reads it
        current = list(np.shape(net.constants[name])) or [1]
        name = net.blob(name)
    if aligned != current:
        name = net.add(node, "Reshape", [name], {"reshape_param": {"shape": {"dim": aligned}}}, top=f"{top}/aligned")
    for axis, (have, want) in enumerate(zip(aligned, out)):
        if have != want:
            name = net.add(
                node, "Tile", [name], {"tile_param": {"axis": axis, "tiles": want}}, top=f"{top}/tiled_{axis}"
            )
    return name


@LAYERS.handles("Gemm")
def gemm(net: Net, node):
    a = attrs(node)
    if a.get("transA", 0):
        raise Unsupported(f"Gemm node {node.name!r}: transA")
    weight = net.constant(node.input[1], node, "B") * float(a.get("alpha", 1.0))
    if not a.get("transB", 0):
        weight = weight.T
    bias = None
    if len(node.input) > 2 and node.input[2]:
        bias = net.constant(node.input[2], node, "C").reshape(-1) * float(a.get("beta", 1.0))
        if bias.size != weight.shape[0]:
            raise Unsupported(f"Gemm node {node.name!r}: C is not one bias per output")
    net.shapes.setdefault(node.output[0], [(net.shape(node.input[0]) or [None])[0], weight.shape[0]])
    return net.add(
        node,
        "InnerProduct",
        [node.input[0]],
        {"inner_product_param": {"num_output": weight.shape[0], "bias_term": bias is not None}},
        [weight] + ([bias] if bias is not None else []),
    )


@LAYERS.handles("MatMul")
def matmul(net: Net, node):
    """x times a 2-d constant: InnerProduct on x's last axis. Any other product (attention's two computed
    tensors, a batched constant) is composed: A [..., m, k] as [..., m, 1, k] and B as [..., 1, n, k] (B
    permuted), each tiled to [..., m, n, k], multiplied (Eltwise PROD) and summed over k (Reduction)."""
    shape = net.shape(node.input[0])
    weight = net.constants.get(node.input[1])
    if weight is not None and weight.ndim == 2 and shape:
        net.shapes.setdefault(node.output[0], [*shape[:-1], weight.shape[1]])
        return net.add(
            node,
            "InnerProduct",
            [node.input[0]],
            {"inner_product_param": {"num_output": weight.shape[1], "bias_term": False, "axis": len(shape) - 1}},
            [weight.T],
        )
    other = net.shape(node.input[1])
    if (
        not shape
        or not other
        or not all(isinstance(d, int) for d in (*shape, *other))
        or len(shape) < 2
        or len(other) < 2
    ):
        raise Unsupported(
            f"MatMul node {node.name!r}: shapes {shape} and {other}; Caffe's product needs them "
            f"static, of rank 2 or more"
        )
    batch = list(np.broadcast_shapes(tuple(shape[:-2]), tuple(other[:-2])))
    (m, k), n = shape[-2:], other[-1]
    rank, top = len(batch) + 3, node.output[0]
    net.shapes.setdefault(top, [*batch, m, n])
    left = _broadcast(net, node, node.input[0], shape, [*batch, m, k], f"{top}/a")
    left = net.add(
        node, "Reshape", [left], {"reshape_param": {"shape": {"dim": [*batch, m, 1, k]}}}, top=f"{top}/a_rows"
    )
    right = _broadcast(net, node, node.input[1], other, [*batch, k, n], f"{top}/b")
    right = _permute(net, node, right, [*batch, k, n], [*range(len(batch)), len(batch) + 1, len(batch)], f"{top}/b_t")
    right = net.add(
        node, "Reshape", [right], {"reshape_param": {"shape": {"dim": [*batch, 1, n, k]}}}, top=f"{top}/b_rows"
    )
    left = net.add(node, "Tile", [left], {"tile_param": {"axis": rank - 2, "tiles": n}}, top=f"{top}/a_tiled")
    right = net.add(node, "Tile", [right], {"tile_param": {"axis": rank - 3, "tiles": m}}, top=f"{top}/b_tiled")
    product = net.add(
        node, "Eltwise", [left, right], {"eltwise_param": {"operation": Enum("PROD")}}, top=f"{top}/products"
    )
    return net.add(node, "Reduction", [product], {"reduction_param": {"operation": Enum("SUM"), "axis": rank - 1}})


@LAYERS.handles("Pad")
def pad(net: Net, node):
    """Constant padding, exactly: blocks of the pad value (DummyData with a constant filler) concatenated
    along each padded axis; reflect and edge padding by index (_pad_by_indices). Caffe has no Pad layer."""
    a = attrs(node)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = [int(v) for v in (a["pads"] if "pads" in a else net.constant(node.input[1], node, "pads"))]
    value = float(net.constant(node.input[2], node, "value")) if len(node.input) > 2 and node.input[2] else 0.0
    shape = net.shape(node.input[0])
    rank = len(pads) // 2
    if not shape or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"Pad node {node.name!r}: the padded tensor's shape is unknown")
    if mode in ("reflect", "edge") and all(p >= 0 for p in pads):
        return _pad_by_indices(net, node, mode, pads, list(shape))
    if mode != "constant" or any(p < 0 for p in pads) or pads[0] or pads[rank]:
        raise Unsupported(
            f"Pad node {node.name!r}: mode {mode}, pads {pads}; Caffe has no Pad layer, and only "
            f"constant, reflect and edge padding off the batch axis is composed"
        )
    if not any(pads):
        return identity(net, node)
    return _constant_pad(net, node, node.input[0], list(shape), pads, value, node.output[0])


def _constant_pad(net: Net, node, bottom: str, shape: list[int], pads: list[int], value: float, top: str) -> str:
    """`bottom` padded by `pads` (ONNX's begins then ends) with `value`: DummyData blocks concatenated along
    each padded axis."""
    rank, current = len(shape), bottom
    axes = [axis for axis in range(rank) if pads[axis] or pads[axis + rank]]
    for index, axis in enumerate(axes):
        parts = []
        for side, count in (("before", pads[axis]), ("after", pads[axis + rank])):
            if count:
                block = [*shape[:axis], count, *shape[axis + 1 :]]
                parts.append(
                    (
                        side,
                        net.add(
                            node,
                            "DummyData",
                            [],
                            {
                                "dummy_data_param": {
                                    "shape": {"dim": block},
                                    "data_filler": {"type": "constant", "value": value},
                                }
                            },
                            top=f"{top}/{side}_{axis}",
                        ),
                    )
                )
        bottoms = [t for side, t in parts if side == "before"] + [current] + [t for side, t in parts if side == "after"]
        last = index == len(axes) - 1
        current = net.add(
            node, "Concat", bottoms, {"concat_param": {"axis": axis}}, top=top if last else f"{top}/padded_{axis}"
        )
        shape[axis] += pads[axis] + pads[axis + rank]
    return current


def _pad_by_indices(net: Net, node, mode: str, pads: list[int], shape: list[int]) -> str:
    """Reflect or edge padding: along each padded axis, the elements ONNX's padded tensor holds, taken by
    index (stages/caffe/layers._take): reflect mirrors without repeating the edge, edge repeats it."""
    rank, current, top = len(shape), node.input[0], node.output[0]
    axes = [axis for axis in range(rank) if pads[axis] or pads[axis + rank]]
    if not axes:
        return identity(net, node)
    for index, axis in enumerate(axes):
        n, before, after = shape[axis], pads[axis], pads[axis + rank]
        if mode == "reflect" and (before >= n or after >= n):
            raise Unsupported(f"Pad node {node.name!r}: reflect pads {pads} as wide as the axis ({n})")
        positions = np.arange(-before, n + after)
        if mode == "reflect":
            positions = np.abs(positions)
            positions = np.where(positions > n - 1, 2 * (n - 1) - positions, positions)
        else:
            positions = np.clip(positions, 0, n - 1)
        last = index == len(axes) - 1
        current = _take(net, node, current, shape, axis, positions, top if last else f"{top}/padded_{axis}")
        shape[axis] = positions.size
    return current


REDUCTIONS = {
    "ReduceMean": "MEAN",
    "ReduceSum": "SUM",
    "ReduceSumSquare": "SUMSQ",
    "ReduceL1": "ASUM",
    "ReduceMax": "MAX",
    "ReduceMin": "MIN",
}


@LAYERS.handles(*REDUCTIONS)
def reduce(net: Net, node):
    """The mean over a 4-d map's spatial axes is global average pooling; any other reduction is Caffe's
    Reduction, which reduces every axis from its `axis` on: the reduced axes are permuted to the end first
    where they are not there (stages/caffe/layers._permute), then the kept shape restored by a Reshape."""
    a = attrs(node)
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = [int(x) for x in net.constant(node.input[1], node, "axes")]
    shape = net.shape(node.input[0]) or []
    if not shape or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"{node.op_type} node {node.name!r}: its input's shape is not static")
    rank, keep = len(shape), bool(a.get("keepdims", 1))
    if axes is None and a.get("noop_with_empty_axes", 0):
        return identity(net, node)
    axes = sorted({int(x) % rank for x in (range(rank) if axes is None else axes)})
    out = [1 if i in axes else d for i, d in enumerate(shape) if keep or i not in axes]
    net.shapes.setdefault(node.output[0], out)
    if node.op_type == "ReduceMean" and rank == 4 and axes == [2, 3]:
        pooled = net.add(
            node,
            "Pooling",
            [node.input[0]],
            {"pooling_param": {"pool": Enum("AVE"), "global_pooling": True}},
            top=None if keep else f"{node.output[0]}/pooled",
        )
        return pooled if keep else net.add(node, "Reshape", [pooled], {"reshape_param": {"shape": {"dim": out}}})
    bottom, first = node.input[0], rank - len(axes)
    if axes != list(range(first, rank)):
        perm = [i for i in range(rank) if i not in axes] + axes
        bottom = _permute(net, node, bottom, shape, perm, f"{node.output[0]}/permuted")
    if REDUCTIONS[node.op_type] in ("MAX", "MIN"):  # Reduction has no max: global max pooling of rows
        return _reduce_max(net, node, bottom, int(np.prod(shape)) // int(np.prod(shape[first:])), out)
    if first == 0:  # Caffe's Reduction to a scalar makes a blob of shape [], kept as [1]
        bottom = net.add(
            node, "Reshape", [bottom], {"reshape_param": {"shape": {"dim": [1, -1]}}}, top=f"{node.output[0]}/row"
        )
        first = 1
    reduced = net.add(
        node,
        "Reduction",
        [bottom],
        {"reduction_param": {"operation": Enum(REDUCTIONS[node.op_type]), "axis": first}},
        top=f"{node.output[0]}/reduced",
    )
    return net.add(node, "Reshape", [reduced], {"reshape_param": {"shape": {"dim": out or [1]}}})


def _reduce_max(net: Net, node, bottom: str, rows: int, out: list) -> str:
    """The max (or min: -max(-x)) of each row of `bottom` (its reduced axes last): the rows as a map
    [rows, 1, 1, row] and Caffe's global MAX pooling over it."""
    top, lowest = node.output[0], node.op_type == "ReduceMin"
    if lowest:
        bottom = net.add(node, "Power", [bottom], {"power_param": {"scale": -1.0}}, top=f"{top}/negated")
    rows_map = net.add(
        node, "Reshape", [bottom], {"reshape_param": {"shape": {"dim": [rows, 1, 1, -1]}}}, top=f"{top}/rows"
    )
    pooled = net.add(
        node,
        "Pooling",
        [rows_map],
        {"pooling_param": {"pool": Enum("MAX"), "global_pooling": True}},
        top=f"{top}/pooled",
    )
    if lowest:
        pooled = net.add(node, "Power", [pooled], {"power_param": {"scale": -1.0}}, top=f"{top}/pooled_min")
    return net.add(node, "Reshape", [pooled], {"reshape_param": {"shape": {"dim": out or [1]}}})


@LAYERS.handles("Flatten")
def flatten(net: Net, node):
    axis = attrs(node).get("axis", 1)
    rank = len(net.shape(node.input[0]) or [])
    axis = axis + rank if axis < 0 else axis
    if axis == 0:
        return net.add(node, "Reshape", [node.input[0]], {"reshape_param": {"shape": {"dim": [1, -1]}}})
    if axis == 1:  # Caffe's Flatten from axis 1 on is ONNX's [N, rest]
        return net.add(node, "Flatten", [node.input[0]], {"flatten_param": {"axis": axis}})
    shape = net.shape(node.input[0])  # ONNX's is 2-d at any axis: the axes before it are one too
    if not shape or not all(isinstance(d, int) for d in shape[:axis]):
        raise Unsupported(f"Flatten node {node.name!r}: the axes before {axis} are not static")
    return net.add(
        node, "Reshape", [node.input[0]], {"reshape_param": {"shape": {"dim": [int(np.prod(shape[:axis])), -1]}}}
    )


@LAYERS.handles("Reshape", "Squeeze", "Unsqueeze")
def reshape(net: Net, node):
    shape = net.shapes.get(node.output[0])
    target = reshape_target(node, net.constants)
    if target is not None:
        dims = target  # 0 copies and -1 infers, in Caffe as in ONNX
    elif shape and all(isinstance(d, int) for d in shape):
        dims = list(shape)
    else:
        raise Unsupported(f"{node.op_type} node {node.name!r}: its output shape is not static")
    if node.output[0] not in net.shapes:  # what ONNX's inference could not tell: at least the rank
        source = net.shape(node.input[0]) or []
        net.shapes[node.output[0]] = [
            source[i] if d == 0 and i < len(source) else (d if d > 0 else None) for i, d in enumerate(dims)
        ]
    return net.add(node, "Reshape", [node.input[0]], {"reshape_param": {"shape": {"dim": dims}}})


@LAYERS.handles("Concat")
def concat(net: Net, node):
    axis = attrs(node)["axis"]
    rank = len(net.shape(node.output[0]) or net.shape(node.input[0]) or [])
    axis = axis + rank if axis < 0 else axis
    return net.add(node, "Concat", list(node.input), {"concat_param": {"axis": axis}})


@LAYERS.handles("Softmax", since=13)
def softmax(net: Net, node):
    """Over one axis (default the last): Caffe's Softmax."""
    rank = len(net.shape(node.input[0]) or [])
    axis = attrs(node).get("axis", -1)
    return net.add(node, "Softmax", [node.input[0]], {"softmax_param": {"axis": axis + rank if axis < 0 else axis}})


@LAYERS.handles("Softmax", until=12)
def softmax_flattened(net: Net, node):
    """Before opset 13, Softmax is over the tensor flattened from `axis` (default 1) on: Caffe's Softmax
    over that axis where the axes after it are all 1 (or it is the last)."""
    shape = net.shape(node.input[0]) or []
    rank = len(shape)
    axis = attrs(node).get("axis", 1)
    axis = axis + rank if axis < 0 else axis
    if axis != rank - 1 and any(d != 1 for d in shape[axis + 1 :]):
        raise Unsupported(
            f"Softmax node {node.name!r}: opset {net.opset} flattens from axis {axis}; Caffe's Softmax is over one axis"
        )
    return net.add(node, "Softmax", [node.input[0]], {"softmax_param": {"axis": axis}})


@LAYERS.handles("Slice")
def slice_(net: Net, node):
    """A Slice without a step as a Crop (a strided one is rewritten before: legalize/strided_slice.py)."""
    shape, out = net.shape(node.input[0]), net.shapes.get(node.output[0])
    if not shape or not out or not all(isinstance(d, int) for d in (*shape, *out)):
        raise Unsupported(f"Slice node {node.name!r}: its input or output shape is not static")
    rank = len(shape)
    starts, _, axes, steps = slice_params(node, net.constant, rank)
    if any(step != 1 for step in steps):
        raise Unsupported(f"Slice node {node.name!r}: steps {steps}; Caffe crops without a step")
    offsets = dict.fromkeys(range(rank), 0)
    for axis, start in zip(axes, starts):
        start = int(start) + shape[axis] if int(start) < 0 else int(start)
        offsets[axis] = max(0, min(start, shape[axis]))
    first = min(axes)
    return _crop(net, node, node.input[0], out, first, [offsets[axis] for axis in range(first, rank)])


@LAYERS.handles("Resize", "Upsample")
def resize(net: Net, node):
    """BVLC Caffe has no Upsample or Interp layer: a Resize by integer factors is a Deconvolution, one group
    per channel, stride = the factors. Nearest, where each element is repeated kh x kw times (decided against
    ONNX's own index formula, stages/onnx/resize.py): a kernel of ones, every output one input times 1.
    Linear (half_pixel, asymmetric): the input padded by one edge element on each side (Crop, Concat), the
    kernel read off ONNX's interpolation weights and checked against them, and a Crop to ONNX's output.
    Linear down by integer factors: a strided Convolution, its kernel read off and checked the same way."""
    shape, out = net.shape(node.input[0]), net.shapes.get(node.output[0])
    if attrs(node).get("mode", b"nearest") in (b"linear", "linear"):
        return _linear_resize(net, node, shape, out)
    kh, kw = nearest_factors(node, shape, out, net.constants, "Caffe")
    channels = shape[1]
    params = {
        "num_output": channels,
        "bias_term": False,
        "kernel_h": kh,
        "kernel_w": kw,
        "stride_h": kh,
        "stride_w": kw,
        "group": channels,
    }
    return net.add(
        node,
        "Deconvolution",
        [node.input[0]],
        {"convolution_param": params},
        [np.ones((channels, 1, kh, kw), np.float32)],
    )


def _linear_resize(net: Net, node, shape: list, out: list) -> str:
    if shape and out and len(shape) == 4 and len(out) == 4 and all(o < i for o, i in zip(out[2:], shape[2:])):
        (fh, kernel_h), (fw, kernel_w) = linear_strides(node, shape, out, net.constants, "Caffe")
        channels = shape[1]
        params = {
            "num_output": channels,
            "bias_term": False,
            "kernel_h": kernel_h.size,
            "kernel_w": kernel_w.size,
            "stride_h": fh,
            "stride_w": fw,
            "group": channels,
        }
        weights = np.broadcast_to(np.outer(kernel_h, kernel_w), (channels, 1, kernel_h.size, kernel_w.size))
        return net.add(node, "Convolution", [node.input[0]], {"convolution_param": params}, [weights])
    (fh, kernel_h, top_h), (fw, kernel_w, top_w) = linear_kernels(node, shape, out, net.constants, "Caffe")
    bottom, padded, name = node.input[0], list(shape), node.output[0]
    for axis in (2, 3):
        edge = [*padded[:axis], 1, *padded[axis + 1 :]]
        first = _crop(net, node, bottom, edge, axis, [0] * (4 - axis), top=f"{name}/first_{axis}")
        last = _crop(net, node, bottom, edge, axis, [padded[axis] - 1] + [0] * (3 - axis), top=f"{name}/last_{axis}")
        bottom = net.add(
            node, "Concat", [first, bottom, last], {"concat_param": {"axis": axis}}, top=f"{name}/edged_{axis}"
        )
        padded[axis] += 2
    channels = shape[1]
    params = {
        "num_output": channels,
        "bias_term": False,
        "kernel_h": kernel_h.size,
        "kernel_w": kernel_w.size,
        "stride_h": fh,
        "stride_w": fw,
        "group": channels,
    }
    weights = np.broadcast_to(np.outer(kernel_h, kernel_w), (channels, 1, kernel_h.size, kernel_w.size))
    spread = net.add(node, "Deconvolution", [bottom], {"convolution_param": params}, [weights], top=f"{name}/spread")
    return _crop(net, node, spread, list(out), 2, [top_h, top_w])


@LAYERS.handles("Transpose")
def transpose(net: Net, node):
    shape = net.shape(node.input[0])
    if not shape or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"Transpose node {node.name!r}: its input's shape is not static")
    perm = [int(p) for p in attrs(node).get("perm", range(len(shape) - 1, -1, -1))]
    net.shapes.setdefault(node.output[0], [shape[p] for p in perm])
    return _permute(net, node, node.input[0], shape, perm, node.output[0])


def _permute(net: Net, node, bottom: str, shape: list[int], perm: list[int], top: str) -> str:
    """BVLC Caffe has no Permute. A permutation that moves only axes of size 1 is a Reshape; any other is a
    gather of rows, exactly (a copy): the tensor reshaped to [rows, row] (a row: the trailing axes the
    permutation leaves in place), BatchReindex taking the rows in the permuted order from a Parameter blob
    of row indices (floats, exact below 2^24 rows), and a Reshape to the permuted shape."""
    out = [shape[p] for p in perm]
    moved = [p for p in perm if shape[p] != 1]
    if moved == sorted(moved):
        return net.add(node, "Reshape", [bottom], {"reshape_param": {"shape": {"dim": out}}}, top=top)
    kept = len(shape)
    while kept and perm[kept - 1] == kept - 1:
        kept -= 1
    order = np.arange(int(np.prod(shape[:kept]))).reshape(shape[:kept]).transpose(perm[:kept]).reshape(-1)
    if order.size >= 2**24:
        raise Unsupported(
            f"{node.op_type} node {node.name!r}: {order.size} rows to reorder; Caffe's BatchReindex "
            f"reads row indices as floats, exact below 2^24"
        )
    row = int(np.prod(shape[kept:]))
    rows = net.add(
        node, "Reshape", [bottom], {"reshape_param": {"shape": {"dim": [order.size, row]}}}, top=f"{top}/rows"
    )
    index = net.add(
        node,
        "Parameter",
        [],
        {"parameter_param": {"shape": {"dim": [order.size]}}},
        [order.astype(np.float32)],
        top=f"{top}/order",
    )
    gathered = net.add(node, "BatchReindex", [rows, index], top=f"{top}/gathered")
    return net.add(node, "Reshape", [gathered], {"reshape_param": {"shape": {"dim": out}}}, top=top)


INTEGERS = {2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 12: "uint32", 13: "uint64"}
FLOATS = {1, 11}  # ONNX's FLOAT, DOUBLE: Caffe computes in float32 either way
BOOL = 9  # held as 1.0 and 0.0


@LAYERS.handles("Cast")
def cast(net: Net, node):
    """Caffe's blobs are float32: a Cast to float, or to an integer type of a tensor that already holds
    integers (a token-id input taken as float, stages/onnx/legalize/int_inputs.py), changes nothing; a cast
    to bool is x != 0 (Threshold of |x|). A float cast to an integer (truncation) or to float16 (rounding)
    is refused."""
    to = attrs(node)["to"]
    if to == BOOL:  # x != 0, as 1.0 or 0.0
        net.integral.add(node.output[0])
        size = net.add(node, "AbsVal", [node.input[0]], top=f"{node.output[0]}/abs")
        return net.add(node, "Threshold", [size], {"threshold_param": {"threshold": 0.0}})
    if to not in FLOATS and not (to in INTEGERS and node.input[0] in net.integral):
        raise Unsupported(
            f"Cast node {node.name!r}: to {INTEGERS.get(to, f'type {to}')} from a float tensor; "
            f"Caffe's blobs are float32, and it neither truncates nor rounds"
        )
    if to in INTEGERS:
        net.integral.add(node.output[0])
    return identity(net, node)


@LAYERS.handles("Gather")
def gather(net: Net, node):
    """A constant table's rows picked by computed integer indices (an embedding): Caffe's Embed. Computed
    data at constant indices: the indexed axis brought first (stages/caffe/layers._permute), its rows
    picked by BatchReindex from a Parameter blob of the indices, and the axes put back."""
    axis = attrs(node).get("axis", 0)
    data, indices = node.input
    if data in net.constants:
        table = net.constants[data]
        if table.ndim != 2 or axis % 2 != 0 or indices not in net.integral:
            raise Unsupported(
                f"Gather node {node.name!r}: of a constant of shape {list(table.shape)} on axis "
                f"{axis}; Caffe's Embed takes rows of a 2-d table by integer indices"
            )
        shape = net.shape(indices) or []
        net.shapes.setdefault(node.output[0], [*shape, table.shape[1]])
        return net.add(
            node,
            "Embed",
            [indices],
            {"embed_param": {"num_output": table.shape[1], "input_dim": table.shape[0], "bias_term": False}},
            [table],
        )
    shape, picked = net.shape(data), net.constant(indices, node, "indices")
    if not shape or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"Gather node {node.name!r}: its data's shape is not static")
    return _take(net, node, data, shape, axis % len(shape), picked, node.output[0])


def _take(net: Net, node, data: str, shape: list[int], axis: int, picked: np.ndarray, top: str) -> str:
    """`data` at the constant indices `picked` along `axis` (numpy's take): the axis brought first
    (stages/caffe/layers._permute), its rows picked by BatchReindex from a Parameter blob of the indices,
    and the axes put back."""
    rank, own = len(shape), f"{top}/take"  # its blobs' names: the last _permute's are top's own
    picked = np.where(picked < 0, picked + shape[axis], picked).astype(np.int64)
    front = [axis, *(i for i in range(rank) if i != axis)]
    bottom = _permute(net, node, data, shape, front, f"{own}/front") if axis else data
    moved = [shape[i] for i in front]
    rows = net.add(node, "Reshape", [bottom], {"reshape_param": {"shape": {"dim": [moved[0], -1]}}}, top=f"{own}/rows")
    index = net.add(
        node,
        "Parameter",
        [],
        {"parameter_param": {"shape": {"dim": [picked.size]}}},
        [picked.reshape(-1).astype(np.float32)],
        top=f"{own}/indices",
    )
    taken = net.add(node, "BatchReindex", [rows, index], top=f"{own}/taken")
    gathered = [*picked.shape, *moved[1:]]  # the picked rows' axes in front, the others after
    out = [*shape[:axis], *picked.shape, *shape[axis + 1 :]]
    net.shapes.setdefault(top, out)
    if not axis:
        return net.add(node, "Reshape", [taken], {"reshape_param": {"shape": {"dim": out or [1]}}}, top=top)
    taken = net.add(
        node, "Reshape", [taken], {"reshape_param": {"shape": {"dim": gathered or [1]}}}, top=f"{own}/picked"
    )
    lead = picked.ndim
    back = [*range(lead, lead + axis), *range(lead), *range(lead + axis, len(gathered))]
    return _permute(net, node, taken, gathered, back, top)


@LAYERS.handles("Identity", "Dropout")
def identity(net: Net, node):
    net.alias[node.output[0]] = net.name(node.input[0])
    return net.alias[node.output[0]]


@LAYERS.handles("Expand")
def expand(net: Net, node):
    """Broadcast to a constant shape: an axis of 1 repeated by Tile (stages/caffe/layers._broadcast)."""
    shape = net.shape(node.input[0])
    target = net.constant(node.input[1], node, "shape")
    if shape is None or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"Expand node {node.name!r}: its input's shape is not static")
    out = list(np.broadcast_shapes(tuple(shape), tuple(int(d) for d in target)))
    net.shapes.setdefault(node.output[0], out)
    net.alias[node.output[0]] = _broadcast(net, node, node.input[0], shape, out, f"{node.output[0]}/expanded")
    return net.alias[node.output[0]]


@LAYERS.handles("Split")
def split(net: Net, node):
    """Caffe's Slice along the axis, at the running sums of the parts' sizes (given as an attribute before
    opset 13, an input after, or equal parts)."""
    a = attrs(node)
    shape = net.shape(node.input[0])
    if not shape or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"Split node {node.name!r}: its input's shape is not static")
    axis = a.get("axis", 0) % len(shape)
    sizes = a.get("split")
    if sizes is None and len(node.input) > 1 and node.input[1]:
        sizes = [int(v) for v in net.constant(node.input[1], node, "split")]
    count = len(node.output)
    if sizes is None:
        part = -(-shape[axis] // count)  # opset 18's num_outputs: the last part may be smaller
        sizes = [min(part, shape[axis] - i * part) for i in range(count)]
    if sum(sizes) != shape[axis] or len(sizes) != count:
        raise Unsupported(f"Split node {node.name!r}: parts {sizes} of an axis of {shape[axis]}")
    for name, size in zip(node.output, sizes):
        net.shapes.setdefault(name, [*shape[:axis], size, *shape[axis + 1 :]])
    if count == 1:
        return identity(net, node)
    tops = [name or f"{node.name}/unused_{i}" for i, name in enumerate(node.output)]
    net.layers.append(
        Layer(
            f"{node.name or tops[0]}/split",
            "Slice",
            [net.name(node.input[0])],
            tops,
            {"slice_param": {"axis": axis, "slice_point": list(np.cumsum(sizes)[:-1].tolist())}},
        )
    )
    return tops[0]
