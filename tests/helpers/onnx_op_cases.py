"""Test helper, imported by the own emitters' case runners (mxnet_op_cases.py, caffe_op_cases.py): small ONNX
graphs, one or more per op, and what they compute: ONNX's reference implementation on their feeds, or the
specification's formula where that reference is not exact. Pure ONNX and numpy: each runner imports it in
its emitter's runtime and keeps the cases whose ops its emitter registers."""

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

RNG = np.random.default_rng(0)
F32 = TensorProto.FLOAT
node = helper.make_node


@dataclass
class Case:
    nodes: list
    inputs: dict  # name -> shape, float32
    outputs: list
    weights: dict
    opset: int
    feeds: dict  # name -> array, where random normal values will not do
    expect: object  # feeds -> outputs, where ONNX's reference implementation is not exact


CASES: dict[str, Case] = {}


def w(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def i64(*values):
    return np.array(values, np.int64)


def case(name, nodes, inputs, outputs, weights=None, opset=13, feeds=None, expect=None):
    """inputs: {name: shape} (float32); feeds: {name: array} where random normal values will not do; expect:
    the outputs from the feeds, where ONNX's reference implementation is not exact (LRN)."""
    unique, n = name, 2
    while unique in CASES:
        unique, n = f"{name} #{n}", n + 1
    nodes = nodes if isinstance(nodes, list) else [nodes]
    CASES[unique] = Case(nodes, inputs, list(outputs), weights or {}, opset, feeds or {}, expect)


def one(op, inputs, weights=None, opset=13, outputs=("y",), feeds=None, expect=None, **attributes):
    """A case of one `op` node: its inputs in order (graph inputs, then weights), outputs y…"""
    order = [*inputs, *(weights or {})]
    said = ",".join(f"{k}={v}" for k, v in attributes.items())
    case(
        f"{op}({said})" if said else op,
        node(op, order, list(outputs), **attributes),
        inputs,
        list(outputs),
        weights,
        opset,
        feeds,
        expect,
    )


def lrn(x, size, alpha, beta, bias):
    """ONNX's LRN as its specification writes it (the reference's sum over the window is off by ~1e-4)."""
    padded = np.pad(x.astype(np.float64) ** 2, [(0, 0), ((size - 1) // 2, size // 2)] + [(0, 0)] * (x.ndim - 2))
    window = sum(padded[:, c : c + x.shape[1]] for c in range(size))
    return [x / (bias + alpha / size * window) ** beta]


X = {"x": [1, 3, 8, 8]}
# --- convolution, pooling, normalization
one("Conv", X, {"W": w(4, 3, 3, 3), "B": w(4)}, pads=[1, 1, 1, 1], strides=[2, 2])
one("Conv", X, {"W": w(6, 1, 3, 3)}, group=3, dilations=[2, 2])
one(
    "ConvTranspose",
    {"x": [1, 4, 5, 5]},
    {"W": w(4, 2, 3, 3), "B": w(2)},
    strides=[2, 2],
    pads=[1, 1, 1, 1],
    output_padding=[1, 1],
)
# opset 15: the reference's BatchNormalization of opsets 9-14 is not ONNX's formula (onnx 1.17)
one("BatchNormalization", X, {"s": w(3), "b": w(3), "m": w(3), "v": np.abs(w(3)) + 0.5}, opset=15)
one("BatchNormalization", X, {"s": w(3), "b": w(3), "m": w(3), "v": np.abs(w(3)) + 0.5}, opset=15, epsilon=0.1)
one("MaxPool", X, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
one("MaxPool", {"x": [1, 3, 7, 7]}, kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
one("AveragePool", X, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0)
one("AveragePool", {"x": [1, 3, 7, 7]}, kernel_shape=[2, 2], strides=[1, 1])
one("GlobalAveragePool", X)
one("GlobalMaxPool", X)
one("LRN", X, size=3, alpha=1e-3, beta=0.75, bias=2.0, expect=lambda f: lrn(f["x"], 3, 1e-3, 0.75, 2.0))
one("LRN", X, size=2, alpha=0.5, expect=lambda f: lrn(f["x"], 2, 0.5, 0.75, 1.0))
one("LayerNormalization", {"x": [2, 3, 8]}, {"s": w(8), "b": w(8)}, opset=17, axis=-1, epsilon=1e-5)
# --- activations and elementwise
for op in ("Relu", "Sigmoid", "Tanh", "Softplus", "Softsign", "Identity", "HardSwish"):
    one(op, {"x": [2, 3, 4]}, opset=14)
one("Dropout", {"x": [2, 3, 4]})
one("LeakyRelu", {"x": [2, 3, 4]}, alpha=0.1)
one("Elu", {"x": [2, 3, 4]}, alpha=0.5)
one("HardSigmoid", {"x": [2, 3, 4]}, alpha=0.3, beta=0.4)
one("PRelu", X, {"slope": w(3, 1, 1)})
one("Clip", {"x": [2, 3, 4]}, {"lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)})
POSITIVE = {"x": np.abs(w(2, 3, 4)) + 0.5}
for op in ("Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal", "Floor", "Ceil", "Erf"):
    one(op, {"x": [2, 3, 4]}, feeds=POSITIVE if op in ("Log", "Sqrt", "Reciprocal") else None)
for op in ("Add", "Sub", "Mul", "Div", "Max", "Min"):
    one(op, {"x": [2, 3, 4], "z": [3, 4]})
one("Pow", {"x": [2, 3, 4], "z": [3, 4]}, feeds=POSITIVE)
one("Pow", {"x": [2, 3, 4]}, {"e": np.array(3.0, np.float32)})
one("Pow", {"x": [2, 3, 4]}, {"e": np.array(0.5, np.float32)}, feeds=POSITIVE)
one("Sum", {"x": [2, 3, 4], "z": [3, 4], "t": [2, 3, 4]})
ROUNDED = {"x": np.round(w(2, 3, 4)), "z": np.round(w(3, 4))}  # equal values occur
for op in ("Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"):
    one(op, {"x": [2, 3, 4], "z": [3, 4]}, feeds=ROUNDED)
for op in ("And", "Or", "Xor"):
    case(
        op,
        [node("Greater", ["x", "zero"], ["p"]), node("Less", ["z", "zero"], ["q"]), node(op, ["p", "q"], ["y"])],
        {"x": [2, 3, 4], "z": [3, 4]},
        ["y"],
        {"zero": np.array(0, np.float32)},
    )
case(
    "Not",
    [node("Greater", ["x", "zero"], ["p"]), node("Not", ["p"], ["y"])],
    {"x": [2, 3, 4]},
    ["y"],
    {"zero": np.array(0, np.float32)},
)
case(
    "Where",
    [node("Greater", ["x", "zero"], ["p"]), node("Where", ["p", "x", "z"], ["y"])],
    {"x": [2, 3, 4], "z": [3, 4]},
    ["y"],
    {"zero": np.array(0, np.float32)},
)
SPECIAL = {"x": np.array([[1.0, np.nan, -np.inf], [np.inf, 0.0, -2.0]], np.float32)}
one("Sign", {"x": [2, 3, 4]}, feeds={"x": np.round(w(2, 3, 4))})  # zeros too
one("IsNaN", {"x": [2, 3]}, feeds=SPECIAL)
one("IsInf", {"x": [2, 3]}, feeds=SPECIAL)
one("Cast", {"x": [2, 3, 4]}, to=TensorProto.INT32, feeds={"x": w(2, 3, 4, scale=5)})
case(
    "Cast-bool",
    [node("Cast", ["x"], ["p"], to=TensorProto.BOOL), node("Cast", ["p"], ["y"], to=F32)],
    {"x": [2, 3, 4]},
    ["y"],
    feeds=ROUNDED,
)
# --- shapes and data movement
one("Expand", {"x": [3, 1]}, {"shape": i64(2, 3, 4)})
one("Split", {"x": [2, 6]}, {"split": i64(2, 4)}, outputs=("y", "y2"), axis=1)
one("Flatten", {"x": [2, 3, 4, 5]}, axis=2)
one("Reshape", {"x": [2, 3, 4]}, {"shape": i64(2, -1)})
one("Squeeze", {"x": [2, 1, 4]}, {"axes": i64(1)})
one("Unsqueeze", {"x": [2, 4]}, {"axes": i64(0, 3)})
one("Transpose", X, perm=[0, 2, 3, 1])
one("Transpose", X, perm=[0, 1, 3, 2])
one("Transpose", {"x": [2, 3, 4]}, perm=[1, 0, 2])
one("Concat", {"x": [2, 3, 4], "z": [2, 5, 4]}, axis=1)
one("Slice", {"x": [4, 6, 5]}, {"s": i64(3, 1), "e": i64(0, 5), "a": i64(0, 1), "st": i64(-1, 2)})
one("Slice", X, {"s": i64(1, 2), "e": i64(3, -1), "a": i64(1, 3)})
one("Pad", X, {"pads": i64(0, 0, 1, 2, 0, 0, 2, 1), "v": np.array(0.5, np.float32)})
one("Pad", X, {"pads": i64(0, 0, 1, 2, 0, 0, 2, 1)}, mode="reflect")
one("Pad", X, {"pads": i64(0, 0, 1, 2, 0, 0, 2, 1)}, mode="edge")
one("Gather", {"x": [5, 4]}, {"i": i64(0, 3, 1)}, axis=0)
one("Gather", {"x": [2, 5, 4]}, {"i": i64(4, 0)}, axis=1)
one("GatherND", {"x": [2, 3, 4]}, {"i": np.array([[0, 1], [1, 2]], np.int64)})
case(
    "Resize",
    node("Resize", ["x", "", "scales"], ["y"], mode="nearest"),
    X,
    ["y"],
    {"scales": np.array([1, 1, 2, 2], np.float32)},
)
case(
    "Resize(linear)",
    node("Resize", ["x", "", "scales"], ["y"], mode="linear"),
    X,
    ["y"],
    {"scales": np.array([1, 1, 2, 2], np.float32)},
)
one("Upsample", X, {"scales": np.array([1, 1, 2, 2], np.float32)}, opset=9, mode="nearest")
# --- linear algebra, reductions, softmax
one("Gemm", {"x": [2, 5]}, {"B": w(4, 5), "C": w(4)}, alpha=0.5, beta=2.0, transB=1)
one("MatMul", {"x": [2, 3, 5]}, {"W": w(5, 4)})
one("MatMul", {"x": [2, 3, 5], "z": [2, 5, 4]})
one("Einsum", {"x": [2, 3, 5], "z": [2, 5, 4]}, equation="bij,bjk->bik")
one("Softmax", {"x": [2, 3, 4]}, axis=-1)
one("LogSoftmax", {"x": [2, 3, 4]}, axis=1)
for op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare"):
    one(op, {"x": [2, 3, 4]}, axes=[1, 2], keepdims=1)
one("ReduceSum", {"x": [2, 3, 4]}, {"axes": i64(1)}, keepdims=0)
one("ArgMax", {"x": [2, 3, 4]}, axis=1, keepdims=0)
one("ArgMin", {"x": [2, 3, 4]}, axis=-1, keepdims=1)
# --- recurrent: a sequence of 5 steps, batch 2, 3 features, hidden 4
# (the reference has no bidirectional one: tests/test_mxnet_target.py converts a real bidirectional LSTM)
one("LSTM", {"x": [5, 2, 3]}, {"W": w(1, 16, 3), "R": w(1, 16, 4), "B": w(1, 32)}, outputs=("y", "h"), hidden_size=4)
one("LSTM", {"x": [5, 2, 3]}, {"W": w(1, 16, 3), "R": w(1, 16, 4)}, outputs=("y",), hidden_size=4)
one(
    "GRU",
    {"x": [5, 2, 3]},
    {"W": w(1, 12, 3), "R": w(1, 12, 4), "B": w(1, 24)},
    outputs=("y", "h"),
    hidden_size=4,
    linear_before_reset=1,
)
one("Expand", {"x": [2, 3, 4]}, {"shape": i64(3, 1)})


def model_of(name: str):
    c = CASES[name]
    graph = helper.make_graph(
        c.nodes,
        name,
        [helper.make_tensor_value_info(n, F32, s) for n, s in c.inputs.items()],
        [helper.make_tensor_value_info(o, 0, None) for o in c.outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in c.weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", c.opset)], ir_version=8)
    return onnx.shape_inference.infer_shapes(model)


def feeds_of(name: str) -> dict:
    c = CASES[name]
    return {n: c.feeds.get(n, w(*s)) for n, s in c.inputs.items()}


def expected(name: str, feeds: dict) -> list:
    c = CASES[name]
    return c.expect(feeds) if c.expect else ReferenceEvaluator(model_of(name)).run(None, feeds)


def specs(name: str, outputs: list | None = None) -> dict:
    """The manifest's tensor specs an emitter is given: float32 inputs at their shapes; the outputs by name,
    with the shape and dtype of `outputs` (the expected arrays) where given."""
    c = CASES[name]
    return {
        "inputs": [{"name": n, "shape": list(s), "dtype": "float32"} for n, s in c.inputs.items()],
        "outputs": [
            {"name": o, "shape": list(np.shape(v)), "dtype": str(np.asarray(v).dtype)}
            for o, v in zip(c.outputs, outputs, strict=True)
        ]
        if outputs is not None
        else [{"name": o} for o in c.outputs],
    }


def ops_of(name: str) -> set[str]:
    return {n.op_type for n in CASES[name].nodes}
