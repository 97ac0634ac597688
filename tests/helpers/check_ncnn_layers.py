"""Run in the ncnn runtime: each handler of modelferry's own ncnn writer (stages/ncnn/layers.py) on a small
graph, the files it writes run in ncnn and held to ONNX's reference implementation on the same inputs.
Prints one line per case ("ok" or "FAIL"), and the refusals it must make; exits 1 on a failure."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from stages.errors import StageError
from stages.ncnn import own
from stages.ncnn.model import NcnnModel
from stages.onnx import legalize

FLOAT, INT64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
RNG = np.random.default_rng(0)


def w(*shape, scale=0.5):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def model(nodes, shape, weights=None, opset=17, dtype=FLOAT):
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in (weights or {}).items()]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", dtype, list(shape))],
        [helper.make_tensor_value_info("y", FLOAT, None)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def n(op, inputs, output="y", **attrs):
    return helper.make_node(op, inputs, [output], name=f"{op}_{output}", **attrs)


def ints(*values):
    return np.asarray(values, np.int64)


GROUPED = w(4, 3, 2, 2)
CASES = {
    "Conv 3x3, pads, stride 2, bias": (
        model(
            [n("Conv", ["x", "k", "b"], pads=[1, 0, 1, 2], strides=[2, 2])],
            (1, 3, 9, 10),
            {"k": w(4, 3, 3, 3), "b": w(4)},
        ),
        "Convolution",
    ),
    "Conv grouped (depthwise), dilation 2": (
        model(
            [n("Conv", ["x", "k"], group=4, dilations=[2, 2], pads=[2, 2, 2, 2])], (1, 4, 8, 8), {"k": w(4, 1, 3, 3)}
        ),
        "ConvolutionDepthWise",
    ),
    "ConvTranspose stride 2, output_padding, bias": (
        model(
            [n("ConvTranspose", ["x", "k", "b"], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])],
            (1, 3, 5, 6),
            {"k": w(3, 4, 3, 3), "b": w(4)},
        ),
        "Deconvolution",
    ),
    "ConvTranspose grouped": (
        model([n("ConvTranspose", ["x", "k"], strides=[2, 2], group=2)], (1, 4, 5, 5), {"k": GROUPED}),
        "DeconvolutionDepthWise",
        # ONNX's reference runs no grouped ConvTranspose: each group on its own, concatenated
        model(
            [
                helper.make_node("Split", ["x", "halves"], ["x0", "x1"], axis=1),
                n("ConvTranspose", ["x0", "k0"], "y0", strides=[2, 2]),
                n("ConvTranspose", ["x1", "k1"], "y1", strides=[2, 2]),
                n("Concat", ["y0", "y1"], axis=1),
            ],
            (1, 4, 5, 5),
            {"k0": GROUPED[:2], "k1": GROUPED[2:], "halves": ints(2, 2)},
        ),
    ),
    "MaxPool 3x3 stride 2, pads": (
        model([n("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], (1, 3, 9, 9)),
        "Pooling",
    ),
    "AveragePool, pads not counted": (
        model([n("AveragePool", ["x"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], (1, 3, 7, 7)),
        "Pooling",
    ),
    "GlobalAveragePool": (model([n("GlobalAveragePool", ["x"])], (1, 5, 4, 3)), "Reduction"),
    "Gemm, transB, bias": (
        model([n("Gemm", ["x", "k", "b"], transB=1)], (1, 6), {"k": w(5, 6), "b": w(5)}),
        "InnerProduct",
    ),
    "MatMul of rows [1, 4, 6] @ [6, 5]": (model([n("MatMul", ["x", "k"])], (1, 4, 6), {"k": w(6, 5)}), "InnerProduct"),
    "BatchNormalization": (
        model(
            [n("BatchNormalization", ["x", "s", "b", "m", "v"], epsilon=1e-3)],
            (1, 3, 4, 4),
            {"s": w(3), "b": w(3), "m": w(3), "v": np.abs(w(3)) + 0.5},
        ),
        "BatchNorm",
    ),
    "LayerNormalization over the last axis": (
        model([n("LayerNormalization", ["x", "s", "b"], epsilon=1e-5)], (1, 4, 8), {"s": w(8), "b": w(8)}),
        "LayerNorm",
    ),
    "Softmax over channels": (model([n("Softmax", ["x"], axis=1)], (1, 5, 3, 2)), "Softmax"),
    "Softmax at opset 11, last axis": (model([n("Softmax", ["x"], axis=2)], (1, 4, 7), opset=11), "Softmax"),
    "Concat with a constant": (model([n("Concat", ["x", "c"], axis=2)], (1, 2, 3, 4), {"c": w(1, 2, 2, 4)}), "Concat"),
    "Slice (crop) on two axes, a negative end": (
        model(
            [n("Slice", ["x", "st", "en", "ax"])], (1, 4, 6, 8), {"st": ints(1, 2), "en": ints(3, -1), "ax": ints(1, 3)}
        ),
        "Crop",
    ),
    "Split into 2 and 3, summed": (
        model(
            [
                helper.make_node("Split", ["x", "sz"], ["a", "b"], name="split", axis=2),
                n("ReduceSum", ["a", "one"], "sa"),
                n("ReduceSum", ["b", "one"], "sb"),
                n("Add", ["sa", "sb"]),
            ],
            (1, 3, 5),
            {"sz": ints(2, 3), "one": ints(2)},
        ),
        "Slice",
    ),
    "Transpose of a 4-d tensor": (model([n("Transpose", ["x"], perm=[0, 3, 1, 2])], (1, 2, 3, 4)), "Permute"),
    "Transpose of a 5-d tensor": (model([n("Transpose", ["x"], perm=[0, 2, 4, 1, 3])], (1, 2, 3, 4, 5)), "Permute"),
    "Reshape and Flatten": (
        model([n("Reshape", ["x", "s"], "r"), n("Flatten", ["r"])], (1, 4, 6), {"s": ints(1, 2, 3, 4)}),
        "Reshape",
    ),
    "Resize nearest x2": (
        model(
            [n("Resize", ["x", "", "sc"], mode="nearest")], (1, 2, 3, 4), {"sc": np.asarray([1, 1, 2, 2], np.float32)}
        ),
        "Interp",
    ),
    "Resize linear, half-pixel": (
        model(
            [n("Resize", ["x", "", "sc"], mode="linear", coordinate_transformation_mode="half_pixel")],
            (1, 2, 3, 4),
            {"sc": np.asarray([1, 1, 2, 3], np.float32)},
        ),
        "Interp",
    ),
    "ReduceMean over one axis, keepdims=0": (
        model([n("ReduceMean", ["x"], axes=[2], keepdims=0)], (1, 3, 4, 5), opset=13),
        "Reduction",
    ),
    "ReduceMax over two axes, kept": (
        model([n("ReduceMax", ["x"], axes=[1, 3], keepdims=1)], (1, 3, 4, 5), opset=13),
        "Reduction",
    ),
    "Add of a per-channel constant, Mul by a scalar": (
        model(
            [n("Add", ["x", "c"], "a"), n("Mul", ["a", "two"])], (1, 3, 2, 2), {"c": w(3, 1, 1), "two": np.float32(2)}
        ),
        "BinaryOp",
    ),
    "scalar - x and scalar / x (operands swapped)": (
        model(
            [n("Sub", ["three", "x"], "s"), n("Div", ["half", "s"])],
            (1, 4),
            {"three": np.float32(3.0), "half": np.float32(0.5)},
        ),
        "BinaryOp",
    ),
    "two blobs of different ranks broadcast": (
        model(
            [
                n("ReduceMean", ["x"], "m", axes=[2], keepdims=0),
                n("Unsqueeze", ["m", "last"], "m3"),
                n("Sub", ["x", "m3"]),
            ],
            (1, 3, 5),
            {"last": ints(-1)},
            opset=13,
        ),
        "BinaryOp",
    ),
    "Clip, HardSwish, LeakyRelu, Sigmoid, Exp": (
        model(
            [
                n("Clip", ["x", "lo", "hi"], "c"),
                n("HardSwish", ["c"], "h"),
                n("LeakyRelu", ["h"], "l", alpha=0.1),
                n("Sigmoid", ["l"], "s"),
                n("Exp", ["s"]),
            ],
            (1, 2, 3),
            {"lo": np.float32(-1), "hi": np.float32(2)},
        ),
        "HardSwish",
    ),
    "PRelu per channel": (model([n("PRelu", ["x", "sl"])], (1, 3, 2, 2), {"sl": w(3, 1, 1)}), "PReLU"),
    "Pad reflect on the last axis (an STFT's centering), constant on channels and height": (
        model(
            [n("Pad", ["x", "wide"], "r", mode="reflect"), n("Pad", ["r", "around", "v"])],
            (1, 2, 3, 8),
            {"wide": ints(0, 0, 0, 3, 0, 0, 0, 2), "around": ints(0, 1, 2, 0, 0, 2, 1, 0), "v": np.float32(0.5)},
        ),
        "Padding",
    ),
    "Gather of one index (the axis dropped) and of indices out of order": (
        model(
            [n("Gather", ["x", "second"], "g", axis=2), n("Gather", ["g", "picks"], axis=1)],
            (1, 5, 4, 6),
            {"second": np.asarray(1, np.int64), "picks": ints(3, 4, 0, -1)},
        ),
        "Crop",
    ),
    "a one-hot of token ids (Equal, Expand, Cast) and a Dense layer": (
        model(
            [
                n("Unsqueeze", ["x", "last"], "ids"),
                n("Expand", ["ids", "wide"], "e"),
                n("Equal", ["e", "vocab"], "eq"),
                n("Cast", ["eq"], "hot", to=FLOAT),
                n("MatMul", ["hot", "k"]),
            ],
            (1, 6),
            {"last": ints(-1), "wide": ints(1, 6, 10), "vocab": np.arange(10, dtype=np.int64), "k": w(10, 4)},
            dtype=INT64,
        ),
        "InnerProduct",
    ),
}
REFUSED = {
    "Conv 3-d": (model([n("Conv", ["x", "k"])], (1, 2, 3, 4, 5), {"k": w(2, 2, 1, 1, 1)}), "3-d"),
    "a Cast of floats to int64 (a truncation)": (
        model([n("Cast", ["x"], "i", to=INT64), n("Cast", ["i"], to=FLOAT)], (1, 4)),
        "truncates",
    ),
    "Softmax over the batch axis": (model([n("Softmax", ["x"], axis=0)], (1, 4)), "batch axis"),
    "TopK (no handler)": (
        model([helper.make_node("TopK", ["x", "k"], ["y", "i"], name="topk")], (1, 8), {"k": ints(3)}),
        "TopK",
    ),
}


def inputs(m) -> list[dict]:
    value = m.graph.input[0]
    dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
    return [
        {
            "name": value.name,
            "shape": dims,
            "dtype": "int64" if value.type.tensor_type.elem_type == INT64 else "float32",
        }
    ]


def run(m, reference=None) -> tuple[float, float, set[str]]:
    specs = inputs(m)
    x = RNG.integers(-1, 12, specs[0]["shape"]) if specs[0]["dtype"] == "int64" else w(*specs[0]["shape"], scale=1.5)
    expected = ReferenceEvaluator(reference or m).run(None, {"x": x})[0]
    copy = onnx.ModelProto()
    copy.CopyFrom(m)
    legalize.apply(copy, own.PASSES, specs)
    net, outputs = own.build(copy, specs, False, "case")
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        net.write(folder)
        blob_inputs = [{**spec, "name": net.names[spec["name"]]} for spec in specs]
        ncnn_model = NcnnModel(
            folder, blob_inputs, [{"name": outputs[0], "shape": list(expected.shape)}], False, own.WRITER
        )
        got = ncnn_model({blob_inputs[0]["name"]: x.astype(np.float32)})[outputs[0]]
    kinds = {layer.kind for layer in net.layers}
    return float(np.abs(got - expected).max()), float(np.abs(expected).max()), kinds


def main() -> int:
    failed = 0
    for name, (m, layer, *reference) in CASES.items():
        try:
            err, top, kinds = run(m, *reference)
            problems = [f"max abs err {err:.1e}"] * (err > 1e-5 * max(1.0, top))
            problems += [f"no {layer}"] * (layer not in kinds)
        except Exception as exc:  # noqa: BLE001 - reported as the case's failure
            err, problems = float("nan"), [f"{type(exc).__name__}: {exc}"]
        print(f"{'FAIL' if problems else 'ok  '} {name}: max abs err {err:.1e} {'; '.join(problems)}")
        failed += bool(problems)
    for name, (m, words) in REFUSED.items():
        try:
            run(m)
            said = "converted"
        except StageError as exc:
            said = str(exc)
        good = words in said
        print(f"{'refused' if good else 'FAIL   '} {name}: {said}")
        failed += not good
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
