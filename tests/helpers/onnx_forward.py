"""Test helper (tf runtime): ONNX Runtime's outputs for an ONNX file, plus its initializers on request."""

import argparse

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("inputs")
parser.add_argument("out")
args = parser.parse_args()

with np.load(args.inputs, allow_pickle=False) as npz:
    feeds = {k: npz[k] for k in npz.files}
session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
outputs = session.run(None, feeds)
model = onnx.load(args.model)
batchnorm_scales = {node.name: node.input[1] for node in model.graph.node if node.op_type == "BatchNormalization"}
weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
np.savez(
    args.out,
    **{f"out:{o.name}": v for o, v in zip(session.get_outputs(), outputs, strict=True)},
    **{f"bn_scale:{n}": weights[w] for n, w in batchnorm_scales.items() if w in weights},
)
