"""export/mxnet: MXNet -> ONNX at a chosen opset, with the exporter's faults repaired.

Faults handled (see DESIGN.md): FullyConnected without an explicit `flatten`
is exported as flatten=False; BatchNorm with fix_gamma=True exports the stored
gamma; PReLU slopes are exported 1-D where 4-D inputs need (C,1,1); the model
is stamped with the installed onnx's newest opset and an IR version ONNX
Runtime may reject.
"""

from __future__ import annotations

import re

import mxnet as mx
import numpy as np
import onnx
from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph
from onnx import helper, numpy_helper

from stages.context import StageContext
from stages.errors import StageError
from stages.match import renamed
from stages.mxnet import checkpoint
from stages.mxnet import graph as graph_lib

TOOLS = ("mxnet", "onnx", "numpy")
# mx2onnx has translations for opsets 12 and 13; 14-17 keep those ops' semantics.
SUPPORTED_OPSETS = range(12, 18)


def _onnx_type(dtype: str) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _export(symbol, params: dict, inputs: list[dict], opset: int, where: str) -> onnx.ModelProto:
    shapes = [tuple(spec["shape"]) for spec in inputs]
    try:
        graph = MXNetGraph().create_onnx_graph_proto(
            symbol,
            params,
            shapes,
            [_onnx_type(spec["dtype"]) for spec in inputs],
            opset_version=opset,
            dynamic=True,
            dynamic_input_shapes=[(None, *shape[1:]) for shape in shapes],
        )
    except AttributeError as exc:
        match = re.search(r"op type (\S+) yet", str(exc))
        if not match:
            raise
        op = match.group(1)
        nodes = [n["name"] for n in _graph_nodes(symbol) if n["op"] == op]
        raise StageError(
            f"{where}: the MXNet ONNX exporter cannot handle op {op!r} "
            f"(nodes {', '.join(nodes[:5])}); replace it or cut the graph before it "
            f"with --output-layer"
        ) from None
    model = helper.make_model(graph, producer_name="modelferry", opset_imports=[helper.make_opsetid("", opset)])
    # ONNX Runtime accepts an IR version only up to its own; use the lowest that holds the opset.
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    return model


def _graph_nodes(symbol) -> list[dict]:
    import json

    return json.loads(symbol.tojson())["nodes"]


def _fix_prelu_slopes(model: onnx.ModelProto) -> list[str]:
    """Reshape 1-D PReLU slopes of 4-D inputs to (C,1,1) so they broadcast over channels."""
    ranks = {
        vi.name: len(vi.type.tensor_type.shape.dim) for vi in list(model.graph.input) + list(model.graph.value_info)
    }
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
        ranks.update({vi.name: len(vi.type.tensor_type.shape.dim) for vi in inferred.graph.value_info})
    except Exception:  # shape inference is best effort; rank 4 is the common case
        pass
    initializers = {init.name: init for init in model.graph.initializer}
    fixed = []
    for node in model.graph.node:
        if node.op_type != "PRelu" or node.input[1] not in initializers:
            continue
        slope = numpy_helper.to_array(initializers[node.input[1]])
        if slope.ndim == 1 and ranks.get(node.input[0], 4) == 4:
            initializers[node.input[1]].CopyFrom(numpy_helper.from_array(slope.reshape(-1, 1, 1), node.input[1]))
            fixed.append(node.input[1])
    # The exporter also declared the old 1-D shape; drop those declarations.
    for values in (model.graph.value_info, model.graph.input):
        stale = [value for value in values if value.name in fixed]
        for value in stale:
            values.remove(value)
    return fixed


def _drop_weight_inputs(model: onnx.ModelProto) -> int:
    """The exporter lists every weight as a graph input too, which blocks constant folding."""
    weights = {init.name for init in model.graph.initializer}
    listed = [value for value in model.graph.input if value.name in weights]
    for value in listed:
        model.graph.input.remove(value)
    return len(listed)


def run(ctx: StageContext) -> dict:
    source = ctx.source
    opset = int(ctx.option("opset"))
    if opset not in SUPPORTED_OPSETS:
        raise StageError(
            f"--opset {opset} is not supported by the MXNet exporter; "
            f"choose {SUPPORTED_OPSETS.start}-{SUPPORTED_OPSETS.stop - 1}"
        )
    symbol_path = source.file("symbol")
    graph = checkpoint.read_symbol_json(symbol_path)
    arg, aux = checkpoint.read_params(source.file("params"))
    repairs = {"flatten": graph_lib.explicit_flatten(graph)}
    fixed = graph_lib.fix_gamma(graph)
    for _, gamma in fixed:
        arg[gamma] = mx.nd.ones_like(arg[gamma])
    repairs["fix_gamma"] = [node for node, _ in fixed]
    graph, symbol = graph_lib.canonical(graph)

    manifest = source.inherited()
    model = _export(symbol, {**arg, **aux}, manifest["inputs"], opset, ctx.user_file_name("symbol"))
    repairs["prelu_slope"] = _fix_prelu_slopes(model)
    repairs["weights_as_inputs"] = _drop_weight_inputs(model)
    if len(model.graph.output) != len(manifest["outputs"]):
        raise StageError(
            f"the exported ONNX graph has {len(model.graph.output)} outputs, the source has {len(manifest['outputs'])}"
        )
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise StageError(f"the exported ONNX model fails onnx.checker: {str(exc).splitlines()[0]}") from None
    onnx.save(model, ctx.out / "model.onnx")

    files = {"model": "model.onnx", **source.carry_to(ctx.out)}
    manifest["inputs"] = renamed(manifest["inputs"], model.graph.input)
    manifest["outputs"] = renamed(manifest["outputs"], model.graph.output)
    return {
        **manifest,
        "format": "onnx",
        "files": files,
        "metrics": {"opset": opset, "ir_version": model.ir_version, "repairs": repairs, "nodes": len(model.graph.node)},
    }
