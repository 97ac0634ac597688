"""emit/caffe-net: ONNX -> a Caffe net (model.prototxt) and its weights (weights.npz + blobs.json), one
handler per op (stages/caffe/layers.py). Pure Python with onnx and numpy: the next stage, in the caffe
runtime, loads the prototxt in pycaffe, fills the weights and saves the .caffemodel."""
from __future__ import annotations

import json

import numpy as np

from stages.caffe import prototxt
from stages.caffe.layers import HANDLERS, Net, Unsupported
from stages.context import StageContext
from stages.errors import StageError
from stages.onnx import static

TOOLS = ("onnx", "numpy")
PROTOTXT, WEIGHTS, BLOBS = "model.prototxt", "weights.npz", "blobs.json"


def build(model, manifest: dict, what: str) -> Net:
    from onnx import numpy_helper

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    net = Net(shapes=static.shapes(model, manifest["inputs"]), opset=opset)
    net.constants.update({init.name: numpy_helper.to_array(init) for init in model.graph.initializer})
    for spec in manifest["inputs"]:
        if spec["dtype"] != "float32":
            raise StageError(f"{what}: input {spec['name']} is {spec['dtype']}; Caffe's blobs are float")
        net.layers.append(prototxt.Layer(spec["name"], "Input", [], [spec["name"]],
                                         {"input_param": {"shape": {"dim": [int(d) for d in spec["shape"]]}}}))
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise StageError(f"{what}: node {node.name!r} is {node.domain}.{node.op_type}, not a standard ONNX op")
        folded = static.fold(node, net.constants, net.shape, opset)
        if folded is not None:
            net.constants.update(zip(node.output, (np.asarray(v) for v in folded)))
            continue
        handler = HANDLERS.get(node.op_type)
        if handler is None:
            raise StageError(f"{what}: the Caffe emitter has no conversion for {node.op_type} (node {node.name!r}); "
                             f"BVLC Caffe 1.0 has no such layer")
        try:
            handler(net, node)
        except Unsupported as exc:
            raise StageError(f"{what}: {exc}") from None
    for output in model.graph.output:   # an output that is another tensor's alias gets a blob of its own
        if output.name in net.constants:
            raise StageError(f"{what}: output {output.name} is a constant; Caffe's outputs are computed")
        if net.name(output.name) != output.name:
            net.layers.append(prototxt.Layer(output.name, "Split", [net.name(output.name)], [output.name]))
    return net


def run(ctx: StageContext) -> dict:
    import onnx

    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    net = build(onnx.load(str(source.file("model"))), manifest, what)
    (ctx.out / PROTOTXT).write_text(prototxt.write(manifest.get("source", {}).get("name") or "model", net.layers))
    arrays, listing = {}, {}
    for index, layer in enumerate(net.layers):
        if layer.blobs:
            listing[layer.name] = [f"l{index}_{i}" for i in range(len(layer.blobs))]
            arrays.update(zip(listing[layer.name], layer.blobs))
    np.savez(ctx.out / WEIGHTS, **arrays)
    (ctx.out / BLOBS).write_text(json.dumps(listing, indent=1))
    return {**manifest, "format": "caffe-net", "precision": "fp32",
            "files": {"prototxt": PROTOTXT, "weights": WEIGHTS, "blobs": BLOBS, **source.carry_to(ctx.out)},
            "metrics": {"layers": len(net.layers)}}
