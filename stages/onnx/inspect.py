"""inspect/onnx: what an ONNX graph is, read and never run: its inputs and outputs (names, dims, dtypes),
opsets, op histogram and parameter count. The graph is parsed as protobuf only (no session, no weights read
from external files: their sizes come from the model's own records)."""

from __future__ import annotations

from collections import Counter

import onnx

from stages.context import StageContext
from stages.errors import StageError

TOOLS = ("onnx",)
DEFAULT_DOMAINS = ("", "ai.onnx")


def _dims(value: onnx.ValueInfoProto) -> list:
    """Each dim: its size, its symbolic name, or None where the graph says nothing."""
    shape = value.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in shape.dim]


def _dtype(value: onnx.ValueInfoProto) -> str:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        return kind or "unknown"
    return onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type).name


def _op(node: onnx.NodeProto) -> str:
    return node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}:{node.op_type}"


def _ops(graph: onnx.GraphProto, counts: Counter) -> None:
    """Every node's op, subgraphs (If, Loop, Scan bodies) included."""
    for node in graph.node:
        counts[_op(node)] += 1
        for attribute in node.attribute:
            for sub in (*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs):
                _ops(sub, counts)


def _parameters(graph: onnx.GraphProto) -> tuple[int, int]:
    """(values, bytes) of the initializers, external ones by their recorded length."""
    values = size = 0
    for tensor in graph.initializer:
        count = 1
        for dim in tensor.dims:
            count *= dim
        values += count
        external = {entry.key: entry.value for entry in tensor.external_data}
        if "length" in external:
            size += int(external["length"])
        else:
            size += count * onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    return values, size


def run(ctx: StageContext) -> dict:
    source = ctx.source
    name = ctx.user_file_name("model")
    if source.manifest.get("format") != "onnx-file":  # not the user's file: the graph a load and export made
        name = f"the ONNX graph exported from {name}"
    try:
        model = onnx.load(str(source.file("model")), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise StageError(
            f"{name} is not a readable ONNX model: {str(exc).splitlines()[0] if str(exc) else exc}"
        ) from None
    graph = model.graph
    weights = {tensor.name for tensor in graph.initializer}
    counts: Counter = Counter()
    _ops(graph, counts)
    values, size = _parameters(graph)
    return {
        "format": "inspection",
        "files": {},
        "inspection": {
            "ir_version": model.ir_version,
            "producer": f"{model.producer_name} {model.producer_version}".strip(),
            "opsets": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
            "nodes": sum(counts.values()),
            "ops": dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
            "parameters": values,
            "parameter_bytes": size,
            "inputs": [
                {"name": v.name, "dims": _dims(v), "dtype": _dtype(v)} for v in graph.input if v.name not in weights
            ],
            "outputs": [{"name": v.name, "dims": _dims(v), "dtype": _dtype(v)} for v in graph.output],
        },
    }
