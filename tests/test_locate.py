"""Where an artifact leaves its ONNX graph (stages/diagnose/locate.py): the rules, on tensors made here.

The end-to-end tests find real divergences (tests/test_routes.py); here each rule's edge: a fused layer
is not a divergence, the first layer after which nothing recovers is, channels-last tensors pair with
channels-first ones, and a gradual build-up is said to be one."""

from __future__ import annotations

import numpy as np

from stages.diagnose.locate import locate, pair
from stages.diagnose.reference import Node

RNG = np.random.default_rng(0)
X = RNG.standard_normal((1, 4, 6, 6)).astype(np.float32)
CONV = RNG.standard_normal((1, 4, 6, 6)).astype(np.float32)
RELU = np.maximum(CONV, 0)
POOL = RELU.mean(axis=(2, 3), keepdims=True)
NODES = [
    Node("conv", "Conv", ("x", "w"), ("c",)),
    Node("relu", "Relu", ("c",), ("r",)),
    Node("pool", "GlobalAveragePool", ("r",), ("p",)),
]
REFERENCE = {"x": X, "c": CONV, "r": RELU, "p": POOL}


def channels_last(x):
    return x.transpose(0, 2, 3, 1).copy()


def test_a_layer_fused_into_the_next_is_not_a_divergence():
    """The artifact has no Conv output of its own (fused with the Relu): everything after it matches."""
    artifact = {"input": channels_last(X), "relu": channels_last(RELU), "out": POOL.reshape(1, 4)}
    found = locate(NODES, REFERENCE, artifact, ["p"], "fp32")
    assert found["layer"] is None and "builds up" in found["why"]
    assert found["reproduced"] == 3 and found["compared"] == 4


def test_the_first_layer_after_which_nothing_recovers_is_named():
    wrong = np.minimum(RELU, 0.5)  # a Relu6-like clip where the graph has a Relu
    artifact = {
        "input": channels_last(X),
        "conv": channels_last(CONV),
        "relu": channels_last(wrong),
        "out": wrong.mean(axis=(2, 3)).reshape(1, 4),
    }
    found = locate(NODES, REFERENCE, artifact, ["p"], "fp32")
    assert (found["layer"], found["op"], found["output"]) == ("relu", "Relu", "r")
    assert found["error_before"] < 1e-6 < found["threshold"] < found["error_after"]
    assert found["artifact_tensor"] == "relu"


def test_tensors_pair_across_layouts_and_unit_axes_by_value_not_by_shape():
    other = RNG.standard_normal((1, 6, 6, 4)).astype(np.float32)  # same shape, other values
    paired = pair({"c": CONV, "p": POOL}, {"decoy": other, "conv_nhwc": channels_last(CONV), "flat": POOL.reshape(4)})
    assert paired["c"].tensor == "conv_nhwc" and paired["c"].error == 0.0
    assert paired["p"].tensor == "flat" and paired["p"].error == 0.0


def test_a_tensor_the_artifact_has_nothing_of_its_size_for_cannot_be_reproduced():
    paired = pair({"c": CONV}, {"small": np.zeros(3, np.float32)})
    assert paired["c"].tensor is None and paired["c"].error == float("inf")


def test_quantized_artifacts_are_held_to_a_looser_threshold():
    noisy = RELU + RNG.normal(0, 0.01, RELU.shape).astype(np.float32)
    artifact = {
        "input": channels_last(X),
        "conv": channels_last(CONV),
        "relu": channels_last(noisy),
        "out": noisy.mean(axis=(2, 3)).reshape(1, 4),
    }
    assert locate(NODES, REFERENCE, artifact, ["p"], "fp32")["layer"] == "relu"
    assert locate(NODES, REFERENCE, artifact, ["p"], "int8")["layer"] is None


def test_a_graph_with_no_float_tensor_to_compare_says_so_rather_than_blaming_a_build_up():
    """IsInf on an input holding inf: the input is not finite and the output is boolean, so nothing pairs."""
    nodes = [Node("isinf", "IsInf", ("x",), ("y",))]
    found = locate(
        nodes, {"x": np.array([1.0, np.inf], np.float32)}, {"x": np.array([1.0, np.inf], np.float32)}, ["y"], "fp32"
    )
    assert found["layer"] is None and "no tensor of the graph could be compared" in found["why"]
