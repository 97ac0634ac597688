"""Run in the tf runtime: each ONNX legalization pass on small graphs in every form it matches, held to
ONNX Runtime on the graph before the pass (the same outputs, within float rounding), with the ops it
must leave behind; and the forms it must leave alone. Prints one line per case, exits 1 on a failure."""

from __future__ import annotations

import math
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from stages.onnx.legalize import apply

FLOAT = onnx.TensorProto.FLOAT


def graph(nodes, constants: dict, opset: int = 17, shape=(2, 8, 16), rank: int = 3):
    inits = [
        numpy_helper.from_array(v if isinstance(v, np.ndarray) else np.asarray(v, np.float32), k)
        for k, v in constants.items()
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", FLOAT, ["a", "b", "c"][:rank])],
        inits,
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def n(op, inputs, output, **attrs):
    return helper.make_node(op, inputs, [output], name=f"{op}_{output}", **attrs)


K = {
    "sqrt2": math.sqrt(2),
    "inv_sqrt2": 1 / math.sqrt(2),
    "one": 1.0,
    "half": 0.5,
    "three": 3.0,
    "cubic": 0.044715,
    "scale": math.sqrt(2 / math.pi),
}


def tail(act, x="x", order="x_then_half"):
    """1 + act, times x and ½ in the three orders exporters write."""
    if order == "x_then_half":
        return [n("Add", [act, "one"], "a"), n("Mul", [x, "a"], "p"), n("Mul", ["p", "half"], "y")]
    if order == "half_last_other_side":
        return [n("Add", ["one", act], "a"), n("Mul", ["a", "half"], "p"), n("Mul", [x, "p"], "y")]
    return [n("Mul", [x, "half"], "h"), n("Add", [act, "one"], "a"), n("Mul", ["h", "a"], "y")]


END = np.iinfo(np.int64).max


def ints(*values):
    return np.asarray(values, np.int64)


def focus(start, end, axes, steps, shape=(2, 8, 16)):
    """x[...] sliced with steps, as YOLOv5's Focus layer does (batch dynamic where `shape` says None)."""
    return graph(
        [n("Slice", ["x", "starts", "ends", "slice_axes", "steps"], "y")],
        {"starts": ints(*start), "ends": ints(*end), "slice_axes": ints(*axes), "steps": ints(*steps)},
        shape=shape,
    )


def branch(op: str, name: str):
    return helper.make_graph(
        [n(op, ["x"], f"{name}_y")], name, [], [helper.make_tensor_value_info(f"{name}_y", FLOAT, ["a", "b", "c"])]
    )


H = 4


def recurrent(op: str, gates: int, rng, read: str, direction: str = "forward", exported: bool = True, opset: int = 18):
    """An `op` over x as [sequence 2, batch 8, features 16], hidden size 4, as torch.export writes it
    (`exported`: W and R an Unsqueeze of a Concat of their halves, the initial state a Slice of zeros),
    y its outputs as `read` says: "Y and Y_h" (their sum), "Y_h" (Y unread), "Y" (through Squeeze)."""
    dirs = 2 if direction == "bidirectional" else 1
    weights = {
        "W": rng.standard_normal((dirs, gates * H, 16)),
        "R": rng.standard_normal((dirs, gates * H, H)),
        "B": rng.standard_normal((dirs, 2 * gates * H)),
        "zeros": np.zeros((dirs, 4, H)),
        "zero": ints(0),
        "eight": ints(8),
        "batch_axis": ints(1),
        "dir_axis": ints(1),
        "axis0": ints(0),
    }
    weights = {k: (v * 0.3).astype(np.float32) if v.dtype == np.float64 else v for k, v in weights.items()}
    nodes, w, r = [], "W", "R"
    if exported:
        for name in ("W", "R"):
            top, bottom = np.split(weights.pop(name)[0], 2)
            weights[f"{name}_top"], weights[f"{name}_bottom"] = top, bottom
            nodes += [
                n("Concat", [f"{name}_top", f"{name}_bottom"], f"{name}_cat", axis=0),
                n("Unsqueeze", [f"{name}_cat", "axis0"], f"{name}_made"),
            ]
        w, r = "W_made", "R_made"
        zeros = weights.pop("zeros")
        weights["zeros"] = np.concatenate([zeros, zeros], axis=1)
        nodes.append(n("Slice", ["zeros", "zero", "eight", "batch_axis"], "state"))
    else:
        weights["state"] = rng.standard_normal((dirs, 8, H)).astype(np.float32)
        del weights["zeros"]
    states = ["state", "state"] if op == "LSTM" else ["state"]
    outputs = ["Y", "Y_h"]
    nodes.append(
        helper.make_node(
            op,
            ["x", w, r, "B", "", *states],
            outputs,
            name=op,
            hidden_size=H,
            direction=direction,
            **({"linear_before_reset": 1} if op == "GRU" else {}),
        )
    )
    squeeze = {"axes": [1]} if opset < 13 else {}
    y_axes = ["Y"] if opset < 13 else ["Y", "dir_axis"]
    if read == "Y and Y_h":
        nodes += [n("Squeeze", y_axes, "Y_sequence", **squeeze), n("Add", ["Y_sequence", "Y_h"], "y")]
    elif read == "Y_h":
        nodes.append(n("Identity", ["Y_h"], "y"))
    else:
        nodes.append(n("Squeeze", y_axes, "y", **squeeze))
        nodes[-2].output.pop()
    if opset < 13:  # the exported Unsqueeze: its axes an attribute
        for node in nodes:
            if node.op_type == "Unsqueeze":
                del node.input[1:]
                node.attribute.append(helper.make_attribute("axes", [0]))
    return graph(nodes, weights, opset=opset)


def loop(data_dependent: bool = False):
    """A Loop of three iterations over x: v <- v * 0.5 + 1 carried, Relu(v) scanned; y = v + the scan's sum.
    `data_dependent`: it goes on while max(v) < 100, which the graph computes."""
    v_in, v_out, scan = (helper.make_tensor_value_info(name, FLOAT, None) for name in ("v", "v_out", "scan_out"))
    i = helper.make_tensor_value_info("i", onnx.TensorProto.INT64, [])
    cond_in, cond_out = (helper.make_tensor_value_info(name, onnx.TensorProto.BOOL, []) for name in ("c", "c_out"))
    nodes = [n("Mul", ["v", "half"], "scaled"), n("Add", ["scaled", "one"], "v_out"), n("Relu", ["v_out"], "scan_out")]
    nodes += (
        [n("ReduceMax", ["v_out"], "top", keepdims=0), n("Less", ["top", "hundred"], "c_out")]
        if data_dependent
        else [n("Identity", ["c"], "c_out")]
    )
    body = helper.make_graph(nodes, "body", [i, cond_in, v_in], [cond_out, v_out, scan])
    return graph(
        [
            helper.make_node("Loop", ["trips", "go", "x"], ["v_final", "scanned"], name="loop", body=body),
            n("ReduceSum", ["scanned", "scan_axis"], "scan_sum", keepdims=0),
            n("Add", ["v_final", "scan_sum"], "y"),
        ],
        {
            "trips": np.asarray(3, np.int64),
            "go": np.asarray(True),
            "half": np.float32(0.5),
            "one": np.float32(1),
            "hundred": np.float32(100),
            "scan_axis": ints(0),
        },
        opset=13,
    )


def if_on_shape(axis_size: int):
    """y = If(Shape(x)[1] == axis_size, then: Relu(x), else: Neg(x)); x is [2, 8, 16]."""
    return graph(
        [
            n("Shape", ["x"], "shape"),
            n("Gather", ["shape", "one_index"], "size", axis=0),
            n("Equal", ["size", "wanted"], "cond"),
            n("If", ["cond"], "y", then_branch=branch("Relu", "then"), else_branch=branch("Neg", "else")),
        ],
        {"one_index": np.asarray(1, np.int64), "wanted": np.asarray(axis_size, np.int64)},
    )


CASES = {
    # name: (model, passes, ops that must be gone, ops that must be there, rewrites expected)
    "erf, x/√2, (x·(1+e))·½ (torch, PyTorch's exporter)": (
        graph([n("Div", ["x", "sqrt2"], "d"), n("Erf", ["d"], "e"), *tail("e")], K),
        ("gelu",),
        {"Div"},
        {"Erf"},
        1,
    ),
    "erf, x·1/√2, x·((1+e)·½)": (
        graph([n("Mul", ["inv_sqrt2", "x"], "d"), n("Erf", ["d"], "e"), *tail("e", order="half_last_other_side")], K),
        ("gelu",),
        set(),
        {"Erf"},
        1,
    ),
    "erf, already (x·½)·(1+erf(x·1/√2))": (
        graph([n("Mul", ["x", "inv_sqrt2"], "d"), n("Erf", ["d"], "e"), *tail("e", order="half_first")], K),
        ("gelu",),
        set(),
        {"Erf"},
        0,
    ),
    "erf whose inner tensor is read elsewhere (not a GELU to rewrite)": (
        graph(
            [
                n("Div", ["x", "sqrt2"], "d"),
                n("Erf", ["d"], "e"),
                n("Add", ["e", "one"], "a"),
                n("Mul", ["x", "a"], "p"),
                n("Mul", ["p", "half"], "q"),
                n("Add", ["q", "a"], "y"),
            ],
            K,
        ),
        ("gelu",),
        set(),
        {"Div"},
        0,
    ),
    "Gelu node (opset 20), exact": (graph([n("Gelu", ["x"], "y")], {}, opset=20), ("gelu",), {"Gelu"}, {"Erf"}, 1),
    "Gelu node (opset 20), tanh": (
        graph([n("Gelu", ["x"], "y", approximate="tanh")], {}, opset=20),
        ("gelu",),
        {"Gelu"},
        {"Tanh", "Pow"},
        1,
    ),
    "tanh, Pow(x, 3)": (
        graph(
            [
                n("Pow", ["x", "three"], "c"),
                n("Mul", ["c", "cubic"], "m"),
                n("Add", ["x", "m"], "i"),
                n("Mul", ["i", "scale"], "s"),
                n("Tanh", ["s"], "t"),
                *tail("t"),
            ],
            K,
        ),
        ("gelu",),
        set(),
        {"Tanh"},
        1,
    ),
    "tanh, x·(x·x)": (
        graph(
            [
                n("Mul", ["x", "x"], "sq"),
                n("Mul", ["x", "sq"], "c"),
                n("Mul", ["cubic", "c"], "m"),
                n("Add", ["m", "x"], "i"),
                n("Mul", ["scale", "i"], "s"),
                n("Tanh", ["s"], "t"),
                *tail("t"),
            ],
            K,
        ),
        ("gelu",),
        set(),
        {"Tanh", "Pow"},
        1,
    ),
    "strided Slice on two axes, phase (1, 0) (Focus), dynamic batch": (
        focus([1, 0], [END, END], [1, 2], [2, 2], shape=("N", 8, 16)),
        ("strided-slice",),
        set(),
        {"Reshape"},
        1,
    ),
    "strided Slice with a negative start and a plain crop on another axis": (
        focus([-15, 2], [END, 10], [2, 1], [2, 1]),
        ("strided-slice",),
        set(),
        {"Reshape", "Slice"},
        1,
    ),
    "strided Slice whose axis is no multiple of its step (left alone)": (
        focus([0], [END], [2], [3]),
        ("strided-slice",),
        set(),
        {"Slice"},
        0,
    ),
    "strided Slice that stops short of the end (left alone)": (
        focus([0], [8], [2], [2]),
        ("strided-slice",),
        set(),
        {"Slice"},
        0,
    ),
    "If on a static shape, then branch taken": (if_on_shape(8), ("constant-if",), {"If", "Neg"}, {"Relu"}, 1),
    "If on a static shape, else branch taken": (if_on_shape(9), ("constant-if",), {"If", "Relu"}, {"Neg"}, 1),
    "Einsum, a linear layer 'bti,ih->bth'": (
        graph(
            [n("Einsum", ["x", "w"], "y", equation="bti,ih->bth")],
            {"w": np.random.default_rng(1).standard_normal((16, 4)).astype(np.float32)},
            opset=13,
        ),
        ("einsum",),
        {"Einsum"},
        {"MatMul"},
        1,
    ),
    "Einsum, grouped and reordered 'bti,tih->bht'": (
        graph(
            [n("Einsum", ["x", "w"], "y", equation="bti,tih->bht")],
            {"w": np.random.default_rng(2).standard_normal((8, 16, 4)).astype(np.float32)},
            opset=13,
        ),
        ("einsum",),
        {"Einsum"},
        {"MatMul", "Transpose"},
        1,
    ),
    "Einsum summing an index out of one operand (left alone)": (
        graph(
            [n("Einsum", ["x", "w"], "y", equation="bti,ih->bt")],
            {"w": np.random.default_rng(3).standard_normal((16, 4)).astype(np.float32)},
            opset=13,
            rank=2,
        ),
        ("einsum",),
        set(),
        {"Einsum"},
        0,
    ),
    "Conv 1-d, strided, dilated, asymmetric pads (opset 13)": (
        graph(
            [n("Conv", ["x", "w1", "b1"], "y", strides=[2], dilations=[2], pads=[3, 1], group=2)],
            {
                "w1": np.random.default_rng(4).standard_normal((6, 4, 3)).astype(np.float32),
                "b1": np.random.default_rng(5).standard_normal(6).astype(np.float32),
            },
            opset=13,
        ),
        ("conv1d",),
        set(),
        {"Unsqueeze", "Conv", "Squeeze"},
        1,
    ),
    "ConvTranspose 1-d, output_padding (opset 11)": (
        graph(
            [n("ConvTranspose", ["x", "w1"], "y", strides=[2], pads=[1, 0], output_padding=[1])],
            {"w1": np.random.default_rng(6).standard_normal((8, 3, 4)).astype(np.float32)},
            opset=11,
        ),
        ("conv1d",),
        set(),
        {"Unsqueeze", "ConvTranspose", "Squeeze"},
        1,
    ),
    "Conv 2-d (left alone)": (
        graph(
            [n("Unsqueeze", ["x"], "x4", axes=[3]), n("Conv", ["x4", "w2"], "y4"), n("Squeeze", ["y4"], "y", axes=[3])],
            {"w2": np.random.default_rng(7).standard_normal((4, 8, 3, 1)).astype(np.float32)},
            opset=11,
        ),
        ("conv1d",),
        set(),
        {"Conv"},
        0,
    ),
    "Clip with a computed floor (the max minus a constant) and a constant ceiling": (
        graph(
            [
                n("ReduceMax", ["x"], "top", keepdims=0),
                n("Sub", ["top", "span"], "floor"),
                n("Clip", ["x", "floor", "ceiling"], "y"),
            ],
            {"span": np.float32(3.0), "ceiling": np.float32(2.5)},
            opset=13,
        ),
        ("clip-bounds",),
        {"Clip"},
        {"Max", "Min"},
        1,
    ),
    "Clip with a constant floor and an infinite ceiling": (
        graph([n("Clip", ["x", "low", "inf"], "y")], {"low": np.float32(-1.0), "inf": np.float32(np.inf)}, opset=13),
        ("clip-bounds",),
        {"Clip", "Min"},
        {"Max"},
        1,
    ),
    "Clip with constant bounds (left alone)": (
        graph([n("Clip", ["x", "low", "high"], "y")], {"low": np.float32(-1.0), "high": np.float32(1.0)}, opset=13),
        ("clip-bounds",),
        set(),
        {"Clip"},
        0,
    ),
    "ReduceSum over one axis, keepdims=0 (a mean pooling's sum)": (
        graph([n("ReduceSum", ["x", "axes"], "y", keepdims=0)], {}, opset=13, rank=2),
        ("sum-axes",),
        set(),
        {"Unsqueeze", "ReduceSum"},
        1,
    ),
    "ReduceSum over one axis, keepdims=1": (
        graph([n("ReduceSum", ["x", "axes"], "y", keepdims=1)], {}, opset=13),
        ("sum-axes",),
        set(),
        {"Unsqueeze", "ReduceSum", "Squeeze"},
        1,
    ),
    "LSTM as torch.export writes it: computed W and R, a zero initial state, Y and Y_h read": (
        recurrent("LSTM", 4, np.random.default_rng(8), "Y and Y_h"),
        ("recurrent",),
        {"Concat"},
        {"LSTM", "Squeeze", "Slice"},
        1,
    ),
    "the same LSTM at opset 11 (Squeeze's axes an attribute)": (
        recurrent("LSTM", 4, np.random.default_rng(8), "Y and Y_h", opset=11),
        ("recurrent",),
        {"Concat"},
        {"LSTM", "Squeeze", "Slice"},
        1,
    ),
    "GRU as torch.export writes it, its Y unread": (
        recurrent("GRU", 3, np.random.default_rng(9), "Y_h"),
        ("recurrent",),
        {"Concat", "Unsqueeze"},
        {"GRU", "Squeeze", "Slice"},
        1,
    ),
    "LSTM of constant weights read through Squeeze (left alone)": (
        recurrent("LSTM", 4, np.random.default_rng(10), "Y", exported=False),
        ("recurrent",),
        {"Slice"},
        {"LSTM", "Squeeze"},
        0,
    ),
    "bidirectional GRU (left alone)": (
        recurrent("GRU", 3, np.random.default_rng(11), "Y_h", direction="bidirectional", exported=False),
        ("recurrent",),
        {"Squeeze"},
        {"GRU"},
        0,
    ),
    "an input whose first axis is not a batch of one (a recurrent state [2, 8, 16])": (
        graph([n("Relu", ["x"], "y")], {}, opset=13),
        ("batch-axis",),
        set(),
        {"Squeeze", "Relu"},
        1,
    ),
    "the same, its layers picked by a Gather of one index (state[0] + state[1])": (
        graph(
            [
                n("Gather", ["x", "zero_index"], "first", axis=0),
                n("Gather", ["x", "one_index"], "second", axis=0),
                n("Add", ["first", "second"], "y"),
            ],
            {"zero_index": np.asarray(0, np.int64), "one_index": np.asarray(1, np.int64)},
            opset=13,
            rank=2,
        ),
        ("batch-axis",),
        {"Squeeze"},
        {"Gather", "Reshape"},
        1,
    ),
    "the same at opset 11 (Squeeze's axes an attribute)": (
        graph([n("Relu", ["x"], "y")], {}, opset=11),
        ("batch-axis",),
        set(),
        {"Squeeze", "Relu"},
        1,
    ),
    "a Transpose that moves only an axis of size one": (
        graph(
            [
                n("Unsqueeze", ["x", "first_two"], "x5"),
                n("Transpose", ["x5"], "t", perm=[1, 0, 2, 3, 4]),
                n("Squeeze", ["t", "first_two"], "y"),
            ],
            {"first_two": ints(0, 1)},
            opset=13,
        ),
        ("transpose-as-reshape",),
        {"Transpose"},
        {"Reshape"},
        1,
    ),
    "a Transpose that reorders axes larger than one (left alone)": (
        graph(
            [
                n("Unsqueeze", ["x", "first"], "x4"),
                n("Transpose", ["x4"], "t", perm=[0, 2, 1, 3]),
                n("Squeeze", ["t", "first"], "y"),
            ],
            {"first": ints(0)},
            opset=13,
        ),
        ("transpose-as-reshape",),
        set(),
        {"Transpose"},
        0,
    ),
    "ReduceMax over two axes, keepdims=0 (opset 13)": (
        graph([n("ReduceMax", ["x"], "y", axes=[1, 2], keepdims=0)], {}, opset=13, rank=1),
        ("reduce-axes",),
        set(),
        {"ReduceMax"},
        1,
    ),
    "ReduceMin over two axes as an input, keepdims=1 (opset 18)": (
        graph([n("ReduceMin", ["x", "two_axes"], "y", keepdims=1)], {"two_axes": ints(0, 2)}, opset=18),
        ("reduce-axes",),
        set(),
        {"ReduceMin"},
        1,
    ),
    "div_no_nan: Where(Equal(d, 0), 0, x / d), d 0 in places": (
        graph(
            [
                n("ReduceMax", ["x"], "top", axes=[2], keepdims=1),
                n("Sub", ["top", "cut"], "lower"),
                n("Relu", ["lower"], "d"),
                n("Equal", ["d", "zero"], "is_zero"),
                n("Div", ["x", "d"], "quotient"),
                n("Where", ["is_zero", "zero", "quotient"], "y"),
            ],
            {"zero": np.float32(0.0), "cut": np.float32(5.0)},
            opset=13,
        ),
        ("div-no-nan",),
        {"Where", "Equal"},
        {"Sign", "Div", "Mul"},
        1,
    ),
    "a Loop of three iterations, its condition a constant: unrolled": (
        loop(),
        ("loop-unroll",),
        {"Loop"},
        {"Mul", "Add", "Relu", "Concat"},
        1,
    ),
    "a Loop whose condition the graph computes from its data (left alone)": (
        loop(data_dependent=True),
        ("loop-unroll",),
        set(),
        {"Loop"},
        0,
    ),
    "a Gather of one time step from a time-major Transpose": (
        graph(
            [n("Transpose", ["x"], "time_major", perm=[1, 0, 2]), n("Gather", ["time_major", "three"], "y", axis=0)],
            {"three": np.asarray(3, np.int64)},
            opset=13,
            rank=2,
        ),
        ("gather-transpose",),
        {"Transpose"},
        {"Gather"},
        1,
    ),
    "a Gather from a Transpose whose other axes change order": (
        graph(
            [n("Transpose", ["x"], "t", perm=[2, 0, 1]), n("Gather", ["t", "second"], "y", axis=1)],
            {"second": np.asarray(1, np.int64)},
            opset=13,
            rank=2,
        ),
        ("gather-transpose",),
        set(),
        {"Gather", "Transpose"},
        1,
    ),
    "a Split into equal parts without sizes (TensorFlow's tf.split)": (
        graph(
            [
                helper.make_node("Split", ["x"], ["left", "right"], name="split", axis=-1),
                n("Sub", ["left", "right"], "y"),
            ],
            {},
            opset=13,
        ),
        ("split-sizes",),
        set(),
        {"Split"},
        1,
    ),
    "ReduceSum over the last axis of a rank-4 tensor, keepdims=0 (a complex spectrogram's magnitude)": (
        graph(
            [n("Unsqueeze", ["x", "first"], "x4"), n("ReduceSum", ["x4", "last"], "y", keepdims=0)],
            {"first": ints(0), "last": ints(-1)},
            opset=13,
        ),
        ("sum-axes",),
        set(),
        {"Unsqueeze", "ReduceSum"},
        1,
    ),
    "Transpose, Softmax over the moved axis, Transpose back (tf2onnx's Keras softmax over channels)": (
        graph(
            [
                n("Transpose", ["x"], "nhwc", perm=[0, 2, 1]),
                n("Softmax", ["nhwc"], "soft", axis=-1),
                n("Transpose", ["soft"], "y", perm=[0, 2, 1]),
            ],
            {},
            opset=13,
        ),
        ("transpose-pairs",),
        {"Transpose"},
        {"Softmax"},
        2,
    ),
    "the same pair around Relu, an Add of a per-channel constant and a ReduceMean that keeps its dims": (
        graph(
            [
                n("Transpose", ["x"], "nhwc", perm=[0, 2, 1]),
                n("Relu", ["nhwc"], "r"),
                n("Add", ["r", "per_channel"], "biased"),
                n("ReduceMean", ["biased"], "mean", axes=[1], keepdims=1),
                n("Transpose", ["mean"], "y", perm=[0, 2, 1]),
            ],
            {"per_channel": np.linspace(-1, 1, 8, dtype=np.float32)},
            opset=13,
        ),
        ("transpose-pairs",),
        {"Transpose"},
        {"Relu", "Add", "ReduceMean"},
        2,
    ),
    "two Transposes in a row as one": (
        graph([n("Transpose", ["x"], "t", perm=[1, 0, 2]), n("Transpose", ["t"], "y", perm=[0, 2, 1])], {}, opset=13),
        ("transpose-pairs",),
        set(),
        {"Transpose"},
        1,
    ),
    "a Softmax at opset 11 (from its axis on) over an axis the Transpose moves (left alone)": (
        graph(
            [
                n("Transpose", ["x"], "nhwc", perm=[0, 2, 1]),
                n("Softmax", ["nhwc"], "soft", axis=2),
                n("Transpose", ["soft"], "y", perm=[0, 2, 1]),
            ],
            {},
            opset=11,
        ),
        ("transpose-pairs",),
        set(),
        {"Transpose", "Softmax"},
        0,
    ),
    "Transpose, Reshape to [batch, -1], MatMul (Keras' Flatten of NHWC before a Dense layer)": (
        graph(
            [
                n("Transpose", ["x"], "nhwc", perm=[0, 2, 1]),
                n("Reshape", ["nhwc", "rows"], "flat"),
                n("MatMul", ["flat", "dense"], "y"),
            ],
            {"rows": ints(-1, 128), "dense": np.random.default_rng(3).standard_normal((128, 5)).astype(np.float32)},
            opset=13,
            rank=2,
        ),
        ("transpose-flatten",),
        {"Transpose"},
        {"Reshape", "MatMul"},
        1,
    ),
    "the same with Flatten and Gemm (transB, a bias)": (
        graph(
            [
                n("Transpose", ["x"], "nhwc", perm=[0, 2, 1]),
                n("Flatten", ["nhwc"], "flat", axis=1),
                n("Gemm", ["flat", "dense_t", "bias"], "y", transB=1),
            ],
            {
                "dense_t": np.random.default_rng(4).standard_normal((5, 128)).astype(np.float32),
                "bias": np.linspace(-1, 1, 5, dtype=np.float32),
            },
            opset=13,
            rank=2,
        ),
        ("transpose-flatten",),
        {"Transpose"},
        {"Flatten", "Gemm"},
        1,
    ),
    "ReduceL2, axes as an attribute (opset 13)": (
        graph([n("ReduceL2", ["x"], "y", axes=[2], keepdims=1)], {}, opset=13),
        ("reduce-l2",),
        {"ReduceL2"},
        {"ReduceSumSquare", "Sqrt"},
        1,
    ),
    "ReduceL2, axes as an input (opset 18)": (
        graph([n("ReduceL2", ["x", "axes"], "y", keepdims=0)], {}, opset=18, rank=2),
        ("reduce-l2",),
        {"ReduceL2"},
        {"ReduceSumSquare", "Sqrt"},
        1,
    ),
}


def unread(model) -> set[str]:
    return {i.name for i in model.graph.initializer} - {i for node in model.graph.node for i in node.input}


def run(model, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the cases share constants that some do not read
    return ort.InferenceSession(model.SerializeToString(), options).run(None, {"x": x})[0]


def main() -> int:
    failed = 0
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 8, 16)) * 3).astype(np.float32)
    for name, (model, passes, gone, there, expected) in CASES.items():
        if "axes" in {i.name for i in model.graph.input} or any("axes" in node.input for node in model.graph.node):
            model.graph.initializer.append(numpy_helper.from_array(np.array([1], np.int64), "axes"))
        onnx.checker.check_model(model)
        unread_before = unread(model)
        before = run(model, x)
        specs = [{"name": "x", "shape": list(x.shape), "dtype": "float32"}]
        changed = apply(model, passes, specs)
        onnx.checker.check_model(model)
        unbatched = specs[0].get("unbatched", False)  # batch-axis: x now has a leading axis of one
        after = run(model, x[None] if unbatched else x)
        ops = {node.op_type for node in model.graph.node}
        err = float(np.abs(before - after).max())
        count = changed.get(passes[0], 0)
        problems = [f"rewrote {count}, expected {expected}"] * (count != expected)
        problems += [f"{op} left" for op in gone & ops] + [f"no {op}" for op in there - ops]
        problems += [f"max abs err {err:.1e}"] * (err > 1e-5 * max(1.0, float(np.abs(before).max())))
        left = unread(model) - unread_before
        problems += [f"constants left unread {sorted(left)}"] * bool(left)
        problems += ["the input's spec not marked unbatched"] * (passes == ("batch-axis",) and count and not unbatched)
        print(f"{'FAIL' if problems else 'ok  '} {name}: {changed} max abs err {err:.1e} {'; '.join(problems)}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
