"""A TFJS graph model as a frozen TF GraphDef: its modelTopology (a GraphDef in JSON) with each weight of
its shards (dequantized: uint8/uint16 with scale and min, float16) as the value of its Const node.

What the TFJS converter fused that TF does not run (or tf2onnx cannot read) is written out as TF's own
ops, the original node's name kept on the last one so its readers are unchanged:
- `_FusedConv2D`, `FusedDepthwiseConv2dNative`, `_FusedMatMul`: the op, then BiasAdd, then the activation
  (Relu, Relu6, Elu, Sigmoid, Tanh, LeakyRelu with its alpha, Prelu with its alpha input);
- `Prelu(x, alpha)`: Relu(x) - alpha * Relu(-x).
TF's private attributes (`_input_shapes` …) are dropped. Parsing runs nothing; the result is checked
against TF's allowlist like any frozen graph.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stages.errors import StageError

WEIGHT_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "int64": np.int64}
QUANTIZED = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}
FUSED = {
    "_FusedConv2D": "Conv2D",
    "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative",
    "_FusedDepthwiseConv2dNative": "DepthwiseConv2dNative",
    "_FusedMatMul": "MatMul",
}
# The attributes each base op keeps from its fused node.
KEPT = {
    "Conv2D": ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
    "DepthwiseConv2dNative": ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
    "MatMul": ("T", "transpose_a", "transpose_b"),
}
ACTIVATIONS = {"Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu", "Prelu"}


def read(path: Path, name: str) -> dict:
    try:
        model = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StageError(f"{name} is not a readable TFJS model.json: {exc}") from None
    if model.get("format") == "layers-model":
        raise StageError(f"{name} is a TFJS layers model (a Keras topology); modelferry reads TFJS graph models")
    topology = model.get("modelTopology")
    if not isinstance(topology, dict) or not topology.get("node"):
        raise StageError(f"{name} has no graph (modelTopology.node)")
    return model


def weights(model: dict, folder: Path, name: str) -> dict[str, np.ndarray]:
    """Every weight of the manifest, by its name, dequantized to its own dtype."""
    found = {}
    for group in model.get("weightsManifest", []):
        data = b"".join((folder / shard).read_bytes() for shard in group.get("paths", []))
        offset = 0
        for spec in group.get("weights", []):
            shape = [int(d) for d in spec.get("shape", [])]
            count = int(np.prod(shape, dtype=np.int64))
            quantization = spec.get("quantization")
            dtype = spec.get("dtype", "float32")
            if dtype not in WEIGHT_DTYPES:
                raise StageError(
                    f"{name}: weight {spec.get('name')!r} is {dtype}; modelferry reads "
                    f"{', '.join(WEIGHT_DTYPES)} weights"
                )
            stored = QUANTIZED.get(quantization["dtype"]) if quantization else WEIGHT_DTYPES[dtype]
            if stored is None:
                raise StageError(f"{name}: weight {spec.get('name')!r} is quantized as {quantization['dtype']}")
            size = count * np.dtype(stored).itemsize
            if offset + size > len(data):
                raise StageError(
                    f"{name}: its weight shards end before weight {spec.get('name')!r} "
                    f"(need {offset + size} bytes, the shards hold {len(data)})"
                )
            raw = np.frombuffer(data, dtype=np.dtype(stored).newbyteorder("<"), count=count, offset=offset)
            offset += size
            if quantization and quantization["dtype"] in ("uint8", "uint16"):
                raw = raw.astype(np.float32) * np.float32(quantization["scale"]) + np.float32(quantization["min"])
            found[spec["name"]] = raw.astype(WEIGHT_DTYPES[dtype]).reshape(shape)
    return found


def _attr_names(node) -> list[str]:
    return [s.decode() if isinstance(s, bytes) else s for s in node.attr["fused_ops"].list.s]


def _unfuse(node, add) -> None:
    """A fused node as the base op, BiasAdd and its activation; the last node keeps the fused node's name."""
    base = FUSED[node.op]
    ops = _attr_names(node)
    extra = [ref for ref in node.input[2:] if not ref.startswith("^")]
    control = [ref for ref in node.input if ref.startswith("^")]
    unknown = [op for op in ops if op != "BiasAdd" and op not in ACTIVATIONS]
    if unknown:
        raise StageError(f"node {node.name!r} ({node.op}) fuses {unknown}, which modelferry cannot write out")
    steps = [base] + ops
    current = None
    for index, op in enumerate(steps):
        last = index == len(steps) - 1
        out = add(node.name if last else f"{node.name}/{op.lower()}", intermediate=not last)
        if op == base:
            out.op = base
            out.input.extend(list(node.input[:2]) + control)
            for key in KEPT[base]:
                if key in node.attr:
                    out.attr[key].CopyFrom(node.attr[key])
        elif op == "BiasAdd":
            out.op = "BiasAdd"
            out.input.extend([current, extra[0]])
            out.attr["T"].CopyFrom(node.attr["T"])
            if base != "MatMul" and "data_format" in node.attr:
                out.attr["data_format"].CopyFrom(node.attr["data_format"])
        elif op == "Prelu":
            alpha = extra[1] if "BiasAdd" in ops else extra[0]
            _prelu(out, current, alpha, node.attr["T"], add)
        else:
            out.op = op
            out.input.append(current)
            out.attr["T"].CopyFrom(node.attr["T"])
            if op == "LeakyRelu":
                out.attr["alpha"].f = node.attr["leakyrelu_alpha"].f if "leakyrelu_alpha" in node.attr else 0.2
        current = out.name


def _prelu(out, x: str, alpha: str, dtype, add) -> None:
    """`out` (already added, named) as Relu(x) - alpha * Relu(-x)."""

    def op(name: str, kind: str, *inputs: str):
        made = add(f"{out.name}/{name}")
        made.op = kind
        made.input.extend(inputs)
        made.attr["T"].CopyFrom(dtype)
        return made.name

    positive = op("positive", "Relu", x)
    negated = op("negated", "Neg", x)
    negative = op("negative", "Relu", negated)
    scaled = op("scaled", "Mul", alpha, negative)
    out.op = "Sub"
    out.input.extend([positive, scaled])
    out.attr["T"].CopyFrom(dtype)


def graph_def(model: dict, folder: Path, name: str):
    """The frozen GraphDef of a TFJS graph model."""
    import tensorflow as tf
    from google.protobuf.json_format import ParseDict, ParseError
    from tensorflow.core.framework import graph_pb2, types_pb2

    parsed = graph_pb2.GraphDef()
    try:
        ParseDict(model["modelTopology"], parsed, ignore_unknown_fields=True)
    except ParseError as exc:
        raise StageError(f"{name}: its modelTopology is not a TF graph: {str(exc)[:300]}") from None
    values = weights(model, folder, name)
    frozen = graph_pb2.GraphDef()
    frozen.versions.CopyFrom(parsed.versions)
    frozen.library.CopyFrom(parsed.library)
    names = {node.name for node in parsed.node}
    filled: set[str] = set()

    def add(node_name: str, intermediate: bool = True):
        if intermediate and node_name in names:
            raise StageError(f"{name}: writing out a fused node would reuse the name {node_name!r}")
        made = frozen.node.add()
        made.name = node_name
        return made

    for node in parsed.node:
        for key in [key for key in node.attr if key.startswith("_")]:
            del node.attr[key]  # TF's private attributes (the converter's _input_shapes, with symbolic sizes)
        if "T" not in node.attr and (node.op in FUSED or node.op == "Prelu"):
            node.attr["T"].type = types_pb2.DT_FLOAT  # the TFJS converter may leave a float op's T out
        if node.op in FUSED:
            _unfuse(node, add)
            continue
        copy = frozen.node.add()
        copy.CopyFrom(node)
        if node.op == "Prelu":
            del copy.input[:]
            copy.attr.clear()
            _prelu(copy, node.input[0], node.input[1], node.attr["T"], add)
        elif node.op == "Const" and node.name in values:
            filled.add(node.name)
            value = values.pop(node.name)
            declared = node.attr["dtype"].type
            if declared:  # TFJS keeps int64 as int32: the graph's own dtype for what reads it
                value = value.astype(tf.dtypes.as_dtype(declared).as_numpy_dtype)
            copy.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
            copy.attr["dtype"].type = tf.dtypes.as_dtype(value.dtype).as_datatype_enum
    empty = [
        node.name
        for node in frozen.node
        if node.op == "Const" and node.name not in filled and not _has_value(node.attr["value"].tensor)
    ]
    if empty:
        raise StageError(f"{name}: constants without a value in its weights: {', '.join(empty[:5])}")
    return frozen


def _has_value(tensor) -> bool:
    """Whether a TensorProto holds its values (the topology's Const nodes hold only dtype and shape)."""
    return bool(tensor.tensor_content) or any(
        len(getattr(tensor, field))
        for field in ("float_val", "int_val", "int64_val", "bool_val", "half_val", "double_val", "string_val")
    )
