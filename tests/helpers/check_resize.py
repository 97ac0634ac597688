"""Run in the mxnet runtime: stages/onnx/resize.py's index formula against ONNX's reference Resize for
every coordinate transformation and nearest mode (opset 19) on several sizes and factors, and its decision
(integer upsampling or not) against the reference's output; then each linear Resize it takes for MXNet's
BilinearResize2D, run in MXNet, against the reference; and each linear Resize taken as Caffe's edge-padded
Deconvolution (computed here as Caffe computes it) against the reference. Exits 1 on any difference."""

from __future__ import annotations

import sys

import numpy as np
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from stages.onnx.emitter import Unsupported
from stages.onnx.resize import bilinear, linear_kernels, linear_strides, nearest_factors, source_index

TRANSFORMS = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric")
MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def reference(node, x: np.ndarray, **constants: np.ndarray) -> np.ndarray:
    """ONNX's reference Resize (opset 19): `node` on `x`, its scales or sizes given as constants."""
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", 1, list(x.shape))],
        [helper.make_tensor_value_info("y", 1, None)],
        [numpy_helper.from_array(value, name) for name, value in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    return ReferenceEvaluator(model).run(None, {"x": x})[0]


def main() -> int:
    wrong, accepted = [], 0
    for transform in TRANSFORMS:
        for mode in MODES:
            for size, k in ((4, 2), (5, 3), (3, 4), (7, 2), (1, 2)):
                x = np.arange(size * size, dtype=np.float32).reshape(1, 1, size, size)
                scales = np.array([1, 1, k, k], np.float32)
                node = helper.make_node(
                    "Resize",
                    ["x", "", "s"],
                    ["y"],
                    mode="nearest",
                    coordinate_transformation_mode=transform,
                    nearest_mode=mode,
                )
                y = reference(node, x, s=scales)[0, 0]
                index = source_index(np.arange(size * k), size, size * k, float(k), transform, mode)
                case = f"{transform} {mode} {size}x{k}"
                if not np.array_equal(x[0, 0][index][:, index], y):
                    wrong.append(f"index formula differs: {case}")
                repeats = np.array_equal(y, np.repeat(np.repeat(x[0, 0], k, 0), k, 1))
                try:
                    nearest_factors(node, [1, 1, size, size], [1, 1, size * k, size * k], {"s": scales}, "X")
                    accepted += 1
                    if not repeats:
                        wrong.append(f"taken for an upsampling, is not: {case}")
                except Unsupported:
                    if repeats:
                        wrong.append(f"an upsampling refused: {case}")
    taken = linear(wrong)
    spread = transposed(wrong)
    strides = strided(wrong)
    print(
        "\n".join(wrong)
        or f"ok: {accepted} of 100 cases are integer upsampling, all decided as the reference; "
        f"{taken} of 20 linear ones taken for BilinearResize2D, all within 2e-6 of it; {spread} of 16 taken "
        f"as an edge-padded transposed convolution (Caffe), all within 2e-6 of it; {strides} of 8 down by a "
        f"strided convolution, all within 2e-6 of it"
    )
    return 1 if wrong else 0


def linear(wrong: list[str]) -> int:
    import mxnet as mx

    rng, taken = np.random.default_rng(0), 0
    for transform in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"):
        for h, w, oh, ow in ((4, 5, 8, 10), (5, 7, 15, 21), (8, 8, 4, 4), (6, 9, 7, 5), (3, 3, 1, 1)):
            x = rng.standard_normal((1, 2, h, w)).astype(np.float32)
            node = helper.make_node(
                "Resize", ["x", "", "", "sizes"], ["y"], mode="linear", coordinate_transformation_mode=transform
            )
            y = reference(node, x, sizes=np.array([1, 2, oh, ow], np.int64))
            try:
                corners = bilinear(node, [1, 2, h, w], [1, 2, oh, ow], {}, "MXNet")
            except Unsupported:
                continue
            taken += 1
            made = mx.nd.contrib.BilinearResize2D(mx.nd.array(x), height=oh, width=ow, align_corners=corners)
            if np.abs(made.asnumpy() - y).max() > 2e-6:
                wrong.append(f"BilinearResize2D differs: {transform} {h}x{w} -> {oh}x{ow}")
    return taken


def transposed(wrong: list[str]) -> int:
    """linear_kernels (Caffe's Deconvolution of the edge-padded input, then a crop), computed here in numpy
    as Caffe computes it, against ONNX's reference Resize; align_corners must be refused."""
    rng, taken = np.random.default_rng(1), 0
    for transform in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"):
        for h, w, fh, fw in ((4, 5, 2, 2), (5, 7, 3, 3), (6, 3, 2, 4), (2, 2, 4, 2)):
            x = rng.standard_normal((1, 2, h, w)).astype(np.float32)
            node = helper.make_node(
                "Resize", ["x", "", "s"], ["y"], mode="linear", coordinate_transformation_mode=transform
            )
            scales = np.array([1, 1, fh, fw], np.float32)
            y = reference(node, x, s=scales)
            try:
                (sh, kh, oh), (sw, kw, ow) = linear_kernels(
                    node, [1, 2, h, w], [1, 2, h * fh, w * fw], {"s": scales}, "Caffe"
                )
            except Unsupported:
                if transform != "align_corners":
                    wrong.append(f"a transposed convolution refused: {transform} {h}x{w} by {fh}x{fw}")
                continue
            taken += 1
            padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge").astype(np.float64)
            full = np.zeros((1, 2, (h + 1) * sh + kh.size, (w + 1) * sw + kw.size))
            for i in range(h + 2):
                for j in range(w + 2):
                    full[:, :, i * sh : i * sh + kh.size, j * sw : j * sw + kw.size] += padded[
                        :, :, i : i + 1, j : j + 1
                    ] * np.outer(kh, kw)
            made = full[:, :, oh : oh + h * fh, ow : ow + w * fw]
            if transform == "align_corners" or np.abs(made - y).max() > 2e-6:
                wrong.append(f"transposed convolution differs: {transform} {h}x{w} by {fh}x{fw}")
    return taken


def strided(wrong: list[str]) -> int:
    """linear_strides (Caffe's strided Convolution for a linear Resize down by integer factors), computed here
    as Caffe computes it, against ONNX's reference; align_corners must be refused."""
    rng, taken = np.random.default_rng(2), 0
    for transform in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"):
        for h, w, fh, fw in ((8, 6, 2, 2), (8, 12, 4, 2)):
            x = rng.standard_normal((1, 2, h, w)).astype(np.float32)
            node = helper.make_node(
                "Resize", ["x", "", "", "sizes"], ["y"], mode="linear", coordinate_transformation_mode=transform
            )
            sizes = np.array([1, 2, h // fh, w // fw], np.int64)
            y = reference(node, x, sizes=sizes)
            try:
                (sh, kh), (sw, kw) = linear_strides(node, [1, 2, h, w], sizes.tolist(), {}, "Caffe")
            except Unsupported:
                if transform != "align_corners":
                    wrong.append(f"a strided convolution refused: {transform} {h}x{w} by 1/{fh}x1/{fw}")
                continue
            taken += 1
            kernel = np.outer(kh, kw)
            made = np.array(
                [
                    [
                        [
                            (x[0, c, i * sh : i * sh + kh.size, j * sw : j * sw + kw.size] * kernel).sum()
                            for j in range(w // fw)
                        ]
                        for i in range(h // fh)
                    ]
                    for c in range(2)
                ]
            )
            if transform == "align_corners" or np.abs(made - y[0]).max() > 2e-6:
                wrong.append(f"strided convolution differs: {transform} {h}x{w} by 1/{fh}x1/{fw}")
    return taken


if __name__ == "__main__":
    sys.exit(main())
