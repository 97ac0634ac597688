"""emit/caffe-net: ONNX -> a Caffe net (model.prototxt) and its weights (weights.npz + blobs.json), one
handler per op (stages/caffe/layers.py). Pure Python with onnx and numpy: the next stage, in the caffe
runtime, loads the prototxt in pycaffe, fills the weights and saves the .caffemodel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stages.caffe import logic, normalize, prototxt, recurrent  # noqa: F401 - they register their handlers
from stages.caffe.layers import LAYERS, Net
from stages.context import StageContext
from stages.errors import StageError
from stages.onnx import emitter, legalize, static

TOOLS = ("onnx", "numpy")
# no control flow; Slice and Crop take no step; no Einsum; blobs are float; layers are 2-d; no ReduceL2; a Where
# is a sum of products, and div_no_nan's unselected x / 0 would be NaN in it; Caffe permutes no axes (Transposes that
# cancel, or that only reorder a dense layer's row, are taken out)
PASSES = (
    "constant-if",
    "loop-unroll",
    "strided-slice",
    "einsum",
    "int-inputs",
    "conv1d",
    "reduce-l2",
    "div-no-nan",
    "transpose-pairs",
    "transpose-flatten",
)
PROTOTXT, WEIGHTS, BLOBS = "model.prototxt", "weights.npz", "blobs.json"


TO_NCHW, TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


def _perm(node) -> list[int] | None:
    return (
        next((list(a.ints) for a in node.attribute if a.name == "perm"), None) if node.op_type == "Transpose" else None
    )


def channels_first(model, manifest: dict) -> tuple[set[str], set[str]]:
    """The Transpose nodes at the graph's edges that Caffe needs no layer for (it has no Permute): an NHWC
    input transposed to NCHW by every consumer becomes an NCHW input, and an NHWC output transposed from
    an NCHW tensor becomes that NCHW tensor. tf2onnx leaves Keras and TF graphs this way. The manifest
    says so (layout NCHW, the source's NHWC), so the runner feeds and reads them transposed."""
    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in model.graph.output}
    skipped, moved = set(), set()
    for spec in manifest["inputs"]:
        users = consumers.get(spec["name"], [])
        if (
            len(spec["shape"]) == 4
            and users
            and all(_perm(n) == TO_NCHW for n in users)
            and spec.get("layout") in (None, "NHWC")
            and spec.get("source_layout") in (None, "NHWC")
        ):
            skipped.update(n.output[0] for n in users)
            moved.add(spec["name"])
    for node in model.graph.node:
        spec = next((s for s in manifest["outputs"] if s["name"] == node.output[0]), None)
        if (
            spec
            and _perm(node) == TO_NHWC
            and node.output[0] in outputs
            and len(spec["shape"]) == 4
            and spec.get("layout") in (None, "NHWC")
            and spec.get("source_layout") in (None, "NHWC")
        ):
            skipped.add(node.output[0])
            moved.add(node.output[0])
    return skipped, moved


def transposes_into_dense(model, shapes: dict) -> set[str]:
    """Transpose -> Flatten (or a Reshape to [N, K]) -> Gemm/MatMul with constant weights, as MTCNN's ONet
    and RNet permute before their first dense layer (to match weights trained in Caffe): the permutation
    moves into the weights' input columns, exactly, so no Permute layer is needed. Rewrites the model in
    place; returns the Transposes now skipped."""
    from onnx import numpy_helper

    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    inits = {init.name: init for init in model.graph.initializer}
    skipped = set()
    for node in model.graph.node:
        perm, shape = _perm(node), shapes.get(node.input[0]) if node.input else None
        if not perm or perm[0] != 0 or not shape or not all(isinstance(d, int) for d in shape):
            continue
        flat = consumers.get(node.output[0], [])
        if len(flat) != 1 or flat[0].op_type not in ("Flatten", "Reshape"):
            continue
        flat = flat[0]
        if len(shapes.get(flat.output[0]) or []) != 2 or (
            flat.op_type == "Flatten" and any(a.name == "axis" and a.i != 1 for a in flat.attribute)
        ):
            continue
        dense = consumers.get(flat.output[0], [])
        if (
            len(dense) != 1
            or dense[0].op_type not in ("Gemm", "MatMul")
            or dense[0].input[1] not in inits
            or len(consumers.get(dense[0].input[1], [])) != 1
        ):
            continue
        dense = dense[0]
        attrs = {a.name: a.i for a in dense.attribute}
        if attrs.get("transA", 0):
            continue
        # position j of the flattened transposed tensor holds element order[j] of the flattened input
        order = np.arange(int(np.prod(shape[1:]))).reshape(shape[1:]).transpose([d - 1 for d in perm[1:]]).reshape(-1)
        weight = numpy_helper.to_array(inits[dense.input[1]])
        moved = np.empty_like(weight)
        if dense.op_type == "Gemm" and attrs.get("transB", 0):
            moved[:, order] = weight
        else:
            moved[order, :] = weight
        inits[dense.input[1]].CopyFrom(numpy_helper.from_array(moved, dense.input[1]))
        flat.input[0] = node.input[0]
        skipped.add(node.output[0])
    return skipped


def _nchw(spec: dict) -> dict:
    n, h, w, c = spec["shape"]
    return {**spec, "shape": [n, c, h, w], "layout": "NCHW", "source_layout": "NHWC"}


def build(model, manifest: dict, what: str) -> Net:
    version = emitter.opset(model)
    net = Net(shapes=static.shapes(model, manifest["inputs"]), opset=version)  # the ONNX graph's own shapes
    skipped, moved = channels_first(model, manifest)
    skipped |= transposes_into_dense(model, net.shapes)
    manifest["inputs"] = [_nchw(s) if s["name"] in moved else s for s in manifest["inputs"]]
    manifest["outputs"] = [_nchw(s) if s["name"] in moved else s for s in manifest["outputs"]]
    net.constants.update(emitter.initializers(model))
    net.read = {name for node in model.graph.node for name in node.input} | {o.name for o in model.graph.output}
    for spec in manifest["inputs"]:
        if spec["dtype"] != "float32":
            raise StageError(f"{what}: input {spec['name']} is {spec['dtype']}; Caffe's blobs are float")
        if "int" in spec.get("source_dtype", ""):  # taken as float by the int-inputs pass: it holds integers
            net.integral.add(spec["name"])
        net.layers.append(
            prototxt.Layer(
                spec["name"],
                "Input",
                [],
                [spec["name"]],
                {"input_param": {"shape": {"dim": [int(d) for d in spec["shape"]]}}},
            )
        )
    for node in emitter.nodes(model, net.constants, net.shape, version, what):
        if node.output[0] in skipped:  # an edge Transpose: the tensor is its input, in NCHW
            net.alias[node.output[0]] = net.name(node.input[0])
            continue
        LAYERS(net, node, what)
    for output in model.graph.output:  # an output that is another tensor's alias gets a blob of its own
        if output.name in net.constants:
            raise StageError(f"{what}: output {output.name} is a constant; Caffe's outputs are computed")
        if net.name(output.name) != output.name:
            net.layers.append(prototxt.Layer(output.name, "Split", [net.name(output.name)], [output.name]))
    return net


def save(net: Net, folder: Path, name: str) -> None:
    """The net as emit/caffe reads it: the prototxt, its layers' blobs in one .npz and which are whose."""
    (folder / PROTOTXT).write_text(prototxt.write(name, net.layers))
    arrays, listing = {}, {}
    for index, layer in enumerate(net.layers):
        if layer.blobs:
            listing[layer.name] = [f"l{index}_{i}" for i in range(len(layer.blobs))]
            arrays.update(zip(listing[layer.name], layer.blobs))
    np.savez(folder / WEIGHTS, **arrays)
    (folder / BLOBS).write_text(json.dumps(listing, indent=1))


def run(ctx: StageContext) -> dict:
    import onnx

    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    model = onnx.load(str(source.file("model")))
    legalized = legalize.apply(model, PASSES, manifest["inputs"])
    if legalized:
        manifest["legalized"] = {**manifest.get("legalized", {}), **legalized}
    net = build(model, manifest, what)
    save(net, ctx.out, manifest.get("source", {}).get("name") or "model")
    return {
        **manifest,
        "format": "caffe-net",
        "precision": "fp32",
        "files": {"prototxt": PROTOTXT, "weights": WEIGHTS, "blobs": BLOBS, **source.carry_to(ctx.out)},
        "metrics": {"layers": len(net.layers)},
    }
