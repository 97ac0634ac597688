"""Test helper (torch runtime): modelferry's ONNX -> torch.fx handlers, one small ONNX graph per case, against
ONNX Runtime. Each case is built with the batch dynamic (run at batch 3, and exported with torch.export)
where its inputs have a batch, and with the batch fixed; prints one line per case and exits 1 if any
differs by more than 1e-5 x max(1, |output|). The inner loop of the emitter: seconds, no pipeline.

    python tests/helpers/pytorch_op_cases.py [CASE ...]
"""

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: stages/

from stages.torch.from_onnx.build import build  # noqa: E402
from stages.torch.from_onnx.graph import NeedsStaticBatch  # noqa: E402

RNG = np.random.default_rng(0)
F32, I64 = TensorProto.FLOAT, TensorProto.INT64
node = helper.make_node
CASES = {}


def case(name, nodes, inputs, outputs, weights=None, opset=17, batch=True):
    """inputs: [(name, elem type, shape with "N" for the batch)]; outputs: names (types inferred)."""
    CASES[name] = (nodes, inputs, outputs, weights or {}, opset, batch)


def w(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def i64(*values):
    return np.array(values, np.int64)


def model_of(name):
    nodes, inputs, outputs, weights, opset, _ = CASES[name]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, t, [d if d != "N" else "N" for d in s]) for n, t, s in inputs],
        [helper.make_tensor_value_info(o, 0, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    model = onnx.shape_inference.infer_shapes(model)
    for output in model.graph.output:  # declared types, as exporters write them
        for value in model.graph.value_info:
            if value.name == output.name:
                output.CopyFrom(value)
    return model


def feeds_of(inputs, batch):
    feeds = {}
    for name, kind, shape in inputs:
        shape = [batch if d == "N" else d for d in shape]
        feeds[name] = (
            RNG.standard_normal(shape).astype(np.float32) if kind == F32 else RNG.integers(0, 4, shape).astype(np.int64)
        )
    return feeds


def run_case(name) -> list[str]:
    nodes, inputs, outputs, weights, opset, batched = CASES[name]
    model = model_of(name)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    problems = []
    for dynamic in (True, False) if batched else (False,):
        specs = [
            {
                "name": n,
                "shape": [1 if d == "N" else d for d in s],
                "dtype": "float32" if t == F32 else "int64",
                "batch_axis": s.index("N") if "N" in s else None,
            }
            for n, t, s in inputs
        ]
        try:
            built = build(model, specs, f"{name}.onnx", dynamic)
        except NeedsStaticBatch as exc:
            problems.append(f"dynamic: needs a fixed batch: {exc}")
            continue
        batch = 3 if dynamic else 1
        feeds = feeds_of(inputs, batch)
        want = session.run(None, feeds)
        args = tuple(torch.from_numpy(feeds[n]) for n in built.arguments)
        with torch.no_grad():
            got = built.module(*args)
            if dynamic:
                batch_dim = (
                    torch.export.Dim("batch", max=built.batch_limit) if built.batch_limit else torch.export.Dim("batch")
                )
                dims = tuple({s.index("N"): batch_dim} if "N" in s else None for _, _, s in inputs)
                got_exported = torch.export.export(built.module, args, dynamic_shapes=dims).module()(*args)
                got = got_exported
        got = got if isinstance(got, tuple) else (got,)
        for output, a, b in zip(outputs, want, got, strict=True):
            b = b.numpy()
            if a.shape != b.shape or a.dtype != b.dtype:
                problems.append(
                    f"{'dynamic' if dynamic else 'fixed'} {output}: {b.dtype}{list(b.shape)}, "
                    f"ONNX Runtime {a.dtype}{list(a.shape)}"
                )
                continue
            error = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
            if not error <= 1e-5 * max(1.0, float(np.max(np.abs(a)))) if a.size else False:
                problems.append(f"{'dynamic' if dynamic else 'fixed'} {output}: differs by {error:.3g}")
    return problems


# -- convolutions and pooling -------------------------------------------------------------------------------
case(
    "conv_asymmetric_pads_groups_dilation",
    [node("Conv", ["x", "w", "b"], ["y"], pads=[0, 1, 2, 1], strides=[2, 1], dilations=[1, 2], group=2)],
    [("x", F32, ["N", 4, 9, 10])],
    ["y"],
    {"w": w(6, 2, 3, 3), "b": w(6)},
)
case(
    "conv_same_upper",
    [node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])],
    [("x", F32, ["N", 3, 9, 8])],
    ["y"],
    {"w": w(4, 3, 4, 3)},
)
case(
    "conv1d_same_lower",
    [node("Conv", ["x", "w"], ["y"], auto_pad="SAME_LOWER", strides=[3])],
    [("x", F32, ["N", 3, 10])],
    ["y"],
    {"w": w(2, 3, 4)},
)
case(
    "conv_transpose",
    [node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1], group=2)],
    [("x", F32, ["N", 4, 5, 6])],
    ["y"],
    {"w": w(4, 3, 3, 3), "b": w(6)},
)
case(
    "conv_transpose_asymmetric",
    [node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 3], pads=[0, 1, 2, 0], dilations=[1, 2])],
    [("x", F32, ["N", 2, 5, 4])],
    ["y"],
    {"w": w(2, 3, 3, 2)},
)
case(
    "maxpool_ceil",
    [node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)],
    [("x", F32, ["N", 2, 10, 11])],
    ["y"],
)
case(
    "maxpool_asymmetric_ceil_dilated",
    [
        node(
            "MaxPool",
            ["x"],
            ["y"],
            kernel_shape=[2, 3],
            strides=[2, 2],
            pads=[0, 1, 1, 0],
            ceil_mode=1,
            dilations=[1, 2],
        )
    ],
    [("x", F32, ["N", 2, 9, 11])],
    ["y"],
)
case(
    "maxpool_same_upper",
    [node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")],
    [("x", F32, ["N", 2, 8, 7])],
    ["y"],
)
case(
    "avgpool_exclude_pad_ceil",
    [
        node(
            "AveragePool",
            ["x"],
            ["y"],
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
            ceil_mode=1,
            count_include_pad=0,
        )
    ],
    [("x", F32, ["N", 2, 10, 9])],
    ["y"],
)
case(
    "avgpool_include_pad",
    [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=1)],
    [("x", F32, ["N", 2, 6, 6])],
    ["y"],
)
case(
    "avgpool_asymmetric_exclude_pad",
    [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], pads=[0, 1, 2, 0])],
    [("x", F32, ["N", 2, 7, 8])],
    ["y"],
)
case(
    "avgpool_asymmetric_include_pad",
    [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 0, 1], count_include_pad=1)],
    [("x", F32, ["N", 2, 7, 8])],
    ["y"],
)
case(
    "global_pools",
    [node("GlobalAveragePool", ["x"], ["a"]), node("GlobalMaxPool", ["x"], ["m"])],
    [("x", F32, ["N", 3, 5, 6])],
    ["a", "m"],
)
# -- normalization, dense ---------------------------------------------------------------------------------
case(
    "batchnorm_instancenorm",
    [
        node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=2e-5),
        node("InstanceNormalization", ["y", "s", "b"], ["z"], epsilon=1e-3),
    ],
    [("x", F32, ["N", 3, 4, 5])],
    ["z"],
    {"s": w(3), "b": w(3), "m": w(3), "v": np.abs(w(3)) + 0.5},
)
case(
    "layernorm",
    [
        node("LayerNormalization", ["x", "s", "b"], ["y"], axis=-2, epsilon=1e-4),
        node("LayerNormalization", ["x", "s1"], ["z"]),
    ],
    [("x", F32, ["N", 3, 4, 5])],
    ["y", "z"],
    {"s": w(4, 5), "b": w(4, 5), "s1": w(5)},
)
case(
    "gemm_plain_and_transposed",
    [
        node("Gemm", ["x", "w", "c"], ["y"], transB=1),
        node("Gemm", ["y", "w2", "c2"], ["z"], alpha=0.5, beta=2.0),
        node("Gemm", ["k", "z"], ["t"], transA=1, transB=1),
    ],
    [("x", F32, ["N", 6])],
    ["y", "z", "t"],
    {"w": w(4, 6), "c": w(4), "w2": w(4, 3), "c2": w(1, 3), "k": w(3, 5)},
    batch=False,
)
case(
    "matmul_batched_and_einsum",
    [node("MatMul", ["x", "w"], ["y"]), node("Einsum", ["y", "y"], ["z"], equation="bij,bkj->bik")],
    [("x", F32, ["N", 3, 4])],
    ["y", "z"],
    {"w": w(4, 5)},
)
# -- activations and elementwise ----------------------------------------------------------------------------
ACTIVATIONS = [
    ("Relu", {}),
    ("LeakyRelu", {"alpha": 0.2}),
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("HardSigmoid", {}),
    ("HardSwish", {}),
    ("Erf", {}),
    ("Elu", {"alpha": 0.7}),
    ("Selu", {}),
    ("Softplus", {}),
    ("Softsign", {}),
    ("Abs", {}),
    ("Neg", {}),
    ("Floor", {}),
    ("Ceil", {}),
    ("Sign", {}),
    ("Exp", {}),
    ("Round", {}),
    ("Celu", {"alpha": 1.5}),
    ("ThresholdedRelu", {"alpha": 0.3}),
    ("Mish", {}),
    ("Gelu", {"approximate": "tanh"}),
]
case(
    "activations",
    [node(op, ["x"], [f"y_{op}"], **kw) for op, kw in ACTIVATIONS],
    [("x", F32, ["N", 3, 7])],
    [f"y_{op}" for op, _ in ACTIVATIONS],
    opset=20,
)
case(
    "sqrt_log_pow_div",
    [
        node("Abs", ["x"], ["a"]),
        node("Sqrt", ["a"], ["s"]),
        node("Log", ["a"], ["l"]),
        node("Pow", ["a", "p"], ["q"]),
        node("Div", ["x", "s"], ["d"]),
        node("Sub", ["x", "c"], ["e"]),
        node("Mul", ["e", "c"], ["f"]),
    ],
    [("x", F32, ["N", 5])],
    ["s", "l", "q", "d", "f"],
    {"p": np.array(1.5, np.float32), "c": w(5)},
)
case(
    "prelu_per_channel_and_scalar",
    [node("PRelu", ["x", "slope"], ["y"]), node("PRelu", ["y", "one"], ["z"])],
    [("x", F32, ["N", 3, 4, 4])],
    ["z"],
    {"slope": w(3, 1, 1), "one": np.array([0.1], np.float32)},
)
case(
    "clip_inputs_attrs",
    [
        node("Clip", ["x", "lo", "hi"], ["y"]),
        node("Clip", ["x", "", "hi"], ["z"]),
        node("ReduceMax", ["x"], ["m"], keepdims=0),
        node("Sub", ["m", "hi"], ["floor"]),
        node("Clip", ["x", "floor"], ["t"]),
    ],
    [("x", F32, ["N", 6])],
    ["y", "z", "t"],
    {"lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)},
)
case("clip_opset6", [node("Clip", ["x"], ["y"], min=-0.1, max=0.2)], [("x", F32, ["N", 4])], ["y"], opset=6)
case(
    "softmax_axis_and_old_opset",
    [node("Softmax", ["x"], ["y"], axis=1), node("LogSoftmax", ["x"], ["z"], axis=1)],
    [("x", F32, ["N", 3, 4])],
    ["y", "z"],
    opset=11,
)
case("softmax_13", [node("Softmax", ["x"], ["y"], axis=1)], [("x", F32, ["N", 3, 4])], ["y"])
case(
    "gathernd",  # constant indices, negative ones among them; and indices that are an input
    [node("GatherND", ["x", "ij"], ["pairs"]), node("GatherND", ["x", "k"], ["rows"])],
    [("x", F32, [4, 5, 6]), ("k", I64, [2, 3, 1])],
    ["pairs", "rows"],
    {"ij": np.array([[1, 2], [-1, 0], [3, -5]], np.int64)},
    batch=False,
)
case(
    "gathernd_batch_dims",
    [node("GatherND", ["x", "i"], ["y"], batch_dims=1), node("GatherND", ["x", "ij"], ["z"], batch_dims=1)],
    [("x", F32, ["N", 5, 6]), ("i", I64, ["N", 3, 1]), ("ij", I64, ["N", 2])],
    ["y", "z"],
)
case(
    "variadic_and_logic",
    [
        node("Max", ["x", "c", "x"], ["mx"]),
        node("Min", ["x", "c"], ["mn"]),
        node("Sum", ["x", "c", "c"], ["sm"]),
        node("Mean", ["x", "c"], ["me"]),
        node("Greater", ["x", "c"], ["g"]),
        node("Less", ["x", "c"], ["l"]),
        node("Equal", ["k", "k2"], ["eq"]),
        node("Not", ["g"], ["ng"]),
        node("And", ["g", "ng"], ["an"]),
        node("Where", ["g", "x", "c"], ["wh"]),
    ],
    [("x", F32, ["N", 4]), ("k", I64, ["N", 4])],
    ["mx", "mn", "sm", "me", "ng", "an", "wh", "eq", "l"],
    {"c": w(4), "k2": i64(1, 2, 0, 3)},
)
case(
    "cast_identity_dropout_integer_div",
    [
        node("Cast", ["x"], ["i"], to=TensorProto.INT64),
        node("Div", ["k", "two"], ["d"]),
        node("Cast", ["d"], ["f"], to=TensorProto.FLOAT),
        node("Identity", ["f"], ["e"]),
        node("Dropout", ["e"], ["o"]),
    ],
    [("x", F32, ["N", 5]), ("k", I64, ["N", 5])],
    ["i", "o"],
    {"two": np.array(-3, np.int64)},
)
# -- reductions ---------------------------------------------------------------------------------------------
case(
    "reduce_attr_axes",
    [
        node("ReduceMean", ["x"], ["m"], axes=[1, -1]),
        node("ReduceSum", ["x"], ["s"], axes=[2], keepdims=0),
        node("ReduceMax", ["x"], ["a"], keepdims=0),
        node("ReduceL2", ["x"], ["l2"], axes=[1]),
        node("ReduceProd", ["x"], ["p"], axes=[1, 2], keepdims=0),
        node("ArgMax", ["x"], ["am"], axis=2, select_last_index=1),
    ],
    [("x", F32, ["N", 3, 4])],
    ["m", "s", "a", "l2", "p", "am"],
    opset=12,
)
case(
    "reduce_input_axes",
    [
        node("ReduceMean", ["x", "ax"], ["m"]),
        node("ReduceSum", ["x", "ax"], ["s"], keepdims=0),
        node("ReduceMax", ["x", "ax"], ["a"]),
        node("ReduceMin", ["x"], ["n"], keepdims=0),
    ],
    [("x", F32, ["N", 3, 4])],
    ["m", "s", "a", "n"],
    {"ax": i64(-1)},
    opset=18,
)
# -- shapes ---------------------------------------------------------------------------------------------------
case(
    "flatten_axes",
    [
        node("Flatten", ["x"], ["a"], axis=1),
        node("Flatten", ["x"], ["b"], axis=2),
        node("Flatten", ["x"], ["c"], axis=0),
        node("Flatten", ["x"], ["d"], axis=4),
    ],
    [("x", F32, ["N", 2, 3, 4])],
    ["a", "b", "c", "d"],
)
case(
    "reshape_zero_minus_one_from_shape",
    [
        node("Shape", ["x"], ["sh"]),
        node("Gather", ["sh", "zero"], ["n"], axis=0),
        node("Unsqueeze", ["n", "ax0"], ["n1"]),
        node("Concat", ["n1", "m1"], ["target"], axis=0),
        node("Reshape", ["x", "target"], ["flat"]),
        node("Reshape", ["x", "keep"], ["r"]),
    ],
    [("x", F32, ["N", 3, 4, 5])],
    ["flat", "r"],
    {"zero": np.array(0, np.int64), "ax0": i64(0), "m1": i64(-1), "keep": i64(0, 12, -1)},
)
case(
    "reshape_allowzero",
    [node("Reshape", ["x", "s"], ["y"], allowzero=1)],
    [("x", F32, [2, 0, 3])],
    ["y"],
    {"s": i64(0, 6)},
    opset=14,
    batch=False,
)
case(
    "transpose_concat_split",
    [
        node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
        node("Concat", ["t", "t"], ["c"], axis=-1),
        node("Split", ["c", "parts"], ["s1", "s2", "s3"], axis=2),
        node("Split", ["x"], ["e1", "e2"], axis=1),
    ],
    [("x", F32, ["N", 4, 3])],
    ["s1", "s2", "s3", "e1", "e2"],
    {"parts": i64(1, 2, 5)},
    opset=13,
)
case(
    "split_num_outputs",
    [node("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3)],
    [("x", F32, ["N", 7])],
    ["a", "b", "c"],
    opset=18,
)
case(
    "slice_steps_negative_and_open",
    [node("Slice", ["x", "st", "en", "ax", "sp"], ["y"]), node("Slice", ["x", "st2", "en2", "ax2"], ["z"])],
    [("x", F32, ["N", 6, 7])],
    ["y", "z"],
    {
        "st": i64(-1, 1),
        "en": i64(-9223372036854775807, 100),
        "ax": i64(1, 2),
        "sp": i64(-2, 3),
        "st2": i64(0, -3),
        "en2": i64(2147483647, -1),
        "ax2": i64(0, 2),
    },
)
case(
    "squeeze_unsqueeze",
    [node("Unsqueeze", ["x", "ax"], ["u"]), node("Squeeze", ["u", "ax2"], ["s"])],
    [("x", F32, ["N", 1, 4, 1])],
    ["u", "s"],
    {"ax": i64(-1, 1), "ax2": i64(1)},
)
case(
    "squeeze_without_axes",  # every dimension of 1, the batch too when it is 1: the batch stays fixed
    [node("Squeeze", ["x"], ["s"])],
    [("x", F32, ["N", 1, 4, 1])],
    ["s"],
    batch=False,
)
case(
    "unsqueeze_squeeze_opset11",
    [node("Unsqueeze", ["x"], ["u"], axes=[0, 3]), node("Squeeze", ["u"], ["s"], axes=[0])],
    [("x", F32, [2, 3])],
    ["u", "s"],
    opset=11,
    batch=False,
)
case(
    "gather_constant_and_data_indices",
    [
        node("Gather", ["x", "i"], ["a"], axis=1),
        node("Gather", ["x", "j"], ["b"], axis=2),
        node("Gather", ["table", "ids"], ["c"], axis=0),
    ],
    [("x", F32, ["N", 5, 4]), ("ids", I64, ["N", 3])],
    ["a", "b", "c"],
    {"i": np.array([[0, -1], [2, 1]], np.int64), "j": np.array(-2, np.int64), "table": w(4, 6)},
)
case(
    "expand_tile_constant_of_shape",
    [
        node("Expand", ["x", "s"], ["e"]),
        node("Tile", ["x", "r"], ["t"]),
        node("Shape", ["x"], ["sh"]),
        node("ConstantOfShape", ["sh"], ["zeros"], value=numpy_helper.from_array(np.array([2.5], np.float32))),
        node("Add", ["x", "zeros"], ["z"]),
    ],
    [("x", F32, ["N", 1, 3])],
    ["e", "t", "z"],
    {"s": i64(2, 1, 4, 1), "r": i64(1, 2, 2)},
)
case(
    "pad_modes",
    [
        node("Pad", ["x", "p"], ["c"], mode="constant"),
        node("Pad", ["x", "p2", "v"], ["r"], mode="reflect"),
        node("Pad", ["x", "p2"], ["e"], mode="edge"),
        node("Pad", ["x", "p3"], ["crop"]),
    ],
    [("x", F32, ["N", 2, 5, 6])],
    ["c", "r", "e", "crop"],
    {
        "p": i64(0, 1, 0, 2, 0, 0, 1, 1),
        "p2": i64(0, 0, 1, 2, 0, 0, 2, 1),
        "v": np.array(0.0, np.float32),
        "p3": i64(0, 0, -1, 1, 0, 0, 0, -2),
    },
)
case(
    "pad_opset2",
    [node("Pad", ["x"], ["y"], pads=[0, 0, 1, 0, 0, 2], value=1.5)],
    [("x", F32, ["N", 2, 3])],
    ["y"],
    opset=2,
)
case(
    "range_and_constant_nodes",
    [
        node("Constant", [], ["c"], value_floats=[1.0, 2.0, 3.0]),
        node("Shape", ["x"], ["sh"]),
        node("Gather", ["sh", "one"], ["n"]),
        node("Range", ["zero", "n", "step"], ["r"]),
        node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
        node("Add", ["x", "rf"], ["y"]),
        node("Mul", ["y", "c"], ["z"]),
    ],
    [("x", F32, ["N", 3])],
    ["z"],
    {"one": np.array(1, np.int64), "zero": np.array(0, np.int64), "step": np.array(1, np.int64)},
)
case(
    "depth_space",
    [
        node("DepthToSpace", ["x"], ["d"], blocksize=2, mode="DCR"),
        node("DepthToSpace", ["x"], ["c"], blocksize=2, mode="CRD"),
        node("SpaceToDepth", ["d"], ["s"], blocksize=2),
    ],
    [("x", F32, ["N", 8, 3, 2])],
    ["d", "c", "s"],
)
case(
    "if_on_a_constant_condition",  # the branch taken is converted in its place
    [
        node(
            "If",
            ["flag"],
            ["y"],
            name="choose",
            then_branch=helper.make_graph(
                [node("Neg", ["x"], ["t"])], "then", [], [helper.make_tensor_value_info("t", F32, None)]
            ),
            else_branch=helper.make_graph(
                [node("Relu", ["x"], ["e"])], "else", [], [helper.make_tensor_value_info("e", F32, None)]
            ),
        )
    ],
    [("x", F32, ["N", 4])],
    ["y"],
    {"flag": np.array(False)},
)
# -- recurrent ---------------------------------------------------------------------------------------------
H = 5
case(
    "lstm_forward_with_states",
    [node("LSTM", ["x", "W", "R", "B", "", "h0", "c0"], ["y", "yh", "yc"], hidden_size=H)],
    [("x", F32, [7, "N", 3]), ("h0", F32, [1, "N", H]), ("c0", F32, [1, "N", H])],
    ["y", "yh", "yc"],
    {"W": w(1, 4 * H, 3), "R": w(1, 4 * H, H), "B": w(1, 8 * H)},
)
case(
    "lstm_bidirectional",
    [node("LSTM", ["x", "W", "R", "B"], ["y", "yh"], hidden_size=H, direction="bidirectional")],
    [("x", F32, [6, "N", 3])],
    ["y", "yh"],
    {"W": w(2, 4 * H, 3), "R": w(2, 4 * H, H), "B": w(2, 8 * H)},
)
case(
    "lstm_reverse_whole_lengths",
    [node("LSTM", ["x", "W", "R", "", "lens"], ["y", "", "yc"], hidden_size=H, direction="reverse")],
    [("x", F32, [6, 2, 3])],
    ["y", "yc"],
    {"W": w(1, 4 * H, 3), "R": w(1, 4 * H, H), "lens": np.array([6, 6], np.int32)},
    batch=False,
)
case(
    "gru_linear_before_reset",
    [node("GRU", ["x", "W", "R", "B"], ["y", "yh"], hidden_size=H, linear_before_reset=1, direction="bidirectional")],
    [("x", F32, [4, 2, 3])],
    ["y", "yh"],
    {"W": w(2, 3 * H, 3), "R": w(2, 3 * H, H), "B": w(2, 6 * H)},
    batch=False,
)
# -- resize ---------------------------------------------------------------------------------------------------
for transform, rounding in (
    ("asymmetric", "floor"),
    ("half_pixel", "round_prefer_floor"),
    ("align_corners", "round_prefer_ceil"),
    ("pytorch_half_pixel", "ceil"),
):
    case(
        f"resize_nearest_{transform}",
        [
            node(
                "Resize",
                ["x", "", "sc"],
                ["up"],
                mode="nearest",
                coordinate_transformation_mode=transform,
                nearest_mode=rounding,
            ),
            node(
                "Resize",
                ["x", "", "", "sz"],
                ["down"],
                mode="nearest",
                coordinate_transformation_mode=transform,
                nearest_mode=rounding,
            ),
        ],
        [("x", F32, ["N", 2, 5, 7])],
        ["up", "down"],
        {"sc": np.array([1, 1, 2, 1.5], np.float32), "sz": i64(1, 2, 3, 4)},
        opset=13,
        batch=False,
    )
for transform in ("half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"):
    case(
        f"resize_linear_{transform}",
        [
            node("Resize", ["x", "", "sc"], ["up"], mode="linear", coordinate_transformation_mode=transform),
            node("Resize", ["x", "", "", "sz"], ["down"], mode="linear", coordinate_transformation_mode=transform),
        ],
        [("x", F32, [1, 2, 5, 7])],
        ["up", "down"],
        {"sc": np.array([1, 1, 2, 3], np.float32), "sz": i64(1, 2, 3, 4)},
        opset=13,
        batch=False,
    )
case(
    "resize_sizes_from_shape",
    [
        node("Shape", ["x"], ["sh"]),
        node("Slice", ["sh", "z", "two"], ["nc"]),
        node("Concat", ["nc", "hw"], ["sz"], axis=0),
        node("Resize", ["x", "", "", "sz"], ["y"], mode="linear"),
    ],
    [("x", F32, ["N", 2, 4, 4])],
    ["y"],
    {"z": i64(0), "two": i64(2), "hw": i64(8, 6)},
    opset=13,
)
case(
    "upsample_opset9",
    [node("Upsample", ["x", "sc"], ["y"], mode="nearest")],
    [("x", F32, ["N", 2, 3, 4])],
    ["y"],
    {"sc": np.array([1, 1, 2, 2], np.float32)},
    opset=9,
)


if __name__ == "__main__":
    names = sys.argv[1:] or list(CASES)
    failed = 0
    for name in names:
        try:
            problems = run_case(name)
        except Exception as exc:  # noqa: BLE001 - a handler's fault is this case's result
            problems = [f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"]
        failed += bool(problems)
        print(f"{'FAIL' if problems else 'ok  '} {name}" + "".join(f"\n       {p}" for p in problems))
    print(f"{len(names) - failed}/{len(names)} cases agree with ONNX Runtime")
    sys.exit(1 if failed else 0)
