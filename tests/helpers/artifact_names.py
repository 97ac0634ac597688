"""Test helper (in the artifact's own runtime): the input and output names a published file holds itself,
read with that format's own tools and no report.json, as JSON on stdout.

    python artifact_names.py FORMAT PATH
"""

import json
import sys
from pathlib import Path

kind, path = sys.argv[1], Path(sys.argv[2])


def onnx_names():
    import onnx

    model = onnx.load(str(path))
    return [i.name for i in model.graph.input], [o.name for o in model.graph.output]


def tflite_names():
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    return sorted(runner.get_input_details()), sorted(runner.get_output_details())


def savedmodel_names():
    import tensorflow as tf

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    return sorted(fn.structured_input_signature[1]), sorted(fn.structured_outputs)


def tfjs_names():
    signature = json.loads((path / "model.json").read_text())["signature"]
    return sorted(signature["inputs"]), sorted(signature["outputs"])


def openvino_names():
    import openvino as ov

    model = ov.Core().read_model(str(path / "model.xml"))
    return (
        [n for port in model.inputs for n in port.get_names()],
        [n for port in model.outputs for n in port.get_names()],
    )


def mxnet_names():
    symbol = json.loads(next(path.glob("*-symbol.json")).read_text())
    nodes = symbol["nodes"]
    inputs = [
        nodes[i]["name"]
        for i in symbol["arg_nodes"]
        if not nodes[i]["name"].endswith(("_weight", "_bias")) and "param" not in nodes[i]["name"]
    ]
    return inputs, [nodes[head[0]]["name"] for head in symbol["heads"]]


def ncnn_names():
    names = json.loads((path / "names.json").read_text())
    return sorted(names["inputs"].values()), sorted(names["outputs"].values())


READERS = {
    "onnx": onnx_names,
    "tflite": tflite_names,
    "savedmodel": savedmodel_names,
    "tfjs": tfjs_names,
    "openvino": openvino_names,
    "mxnet": mxnet_names,
    "ncnn": ncnn_names,
}
inputs, outputs = READERS[kind]()
print(json.dumps({"inputs": inputs, "outputs": outputs}))
