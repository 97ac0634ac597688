"""load/onnx: an ONNX model as the source: checked, optionally simplified, run in ONNX Runtime.

ONNX Runtime is the source framework here, so its outputs are the golden
ones every target is held to.
"""
from __future__ import annotations

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper

from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError

TOOLS = ("onnx", "onnxruntime", "onnxsim", "numpy")


def read_model(path, name: str) -> onnx.ModelProto:
    try:
        model = onnx.load(str(path))
    except (DecodeError, ValueError, OSError) as exc:
        raise StageError(f"{name} is not a readable ONNX model (truncated or not ONNX): {exc}") from None
    if not model.graph.node:
        raise StageError(f"{name} is not an ONNX model: it has no graph nodes")
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise StageError(f"{name} fails onnx.checker: {str(exc).splitlines()[0]}") from None
    return model


def _signature(model: onnx.ModelProto, shapes: dict, name: str) -> list[dict]:
    weights = {init.name for init in model.graph.initializer}
    inputs = []
    for value in model.graph.input:
        if value.name in weights:
            continue
        tensor = value.type.tensor_type
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type)).name
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        shape = shapes.get(value.name)
        if shape and (len(shape) != len(dims) or any(d not in (None, s) for d, s in zip(dims[1:], shape[1:]))):
            raise StageError(f"--input-shape {value.name}:{','.join(map(str, shape))} does not fit {name}, "
                             f"whose input is {dims}")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise StageError(f"input {value.name!r} of {name} is {dtype}; only float inputs are supported")
        inputs.append(samples_lib.input_spec(value.name, dims, shape, dtype, "NCHW", name))
    samples_lib.check_shapes_named(shapes, inputs, name)
    return inputs


def run_onnx(model_bytes: bytes, feeds: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """ONNX Runtime's outputs, a whole batch at once where the batch is dynamic, else one by one."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT's own exception types
        raise StageError(f"{name} does not load in ONNX Runtime: {str(exc).splitlines()[0]}") from None
    dynamic = all(not isinstance(i.shape[0], int) for i in session.get_inputs())
    count = len(next(iter(feeds.values())))
    chunks = [slice(0, count)] if dynamic else [slice(i, i + 1) for i in range(count)]
    names = [o.name for o in session.get_outputs()]
    parts: dict[str, list] = {n: [] for n in names}
    for chunk in chunks:
        for n, value in zip(names, session.run(names, {k: v[chunk] for k, v in feeds.items()})):
            parts[n].append(value)
    return {n: np.concatenate(v) for n, v in parts.items()}


def run(ctx: StageContext) -> dict:
    source = ctx.source
    path = source.file("model")
    name = ctx.user_file_name("model")
    model = read_model(path, name)
    metrics = {"opset": next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None),
               "nodes_in": len(model.graph.node)}
    if ctx.option("simplify"):
        from onnxsim import simplify

        simplified, ok = simplify(model)
        if not ok:
            raise StageError(f"onnxsim could not simplify {name} without changing it; run without --simplify")
        model = simplified
    metrics["nodes"] = len(model.graph.node)
    inputs = _signature(model, ctx.option("input_shapes", {}), name)
    feeds, files = samples_lib.reference_inputs(source, inputs, ctx.out)
    serialized = model.SerializeToString()
    golden = run_onnx(serialized, feeds, name)
    files.update(samples_lib.write_reference(ctx.out, feeds, golden, name))
    (ctx.out / "model.onnx").write_bytes(serialized)
    files["model"] = "model.onnx"
    outputs = samples_lib.output_specs(golden)
    return {"format": "onnx", "files": files, "inputs": inputs, "outputs": outputs,
            "source": source.manifest.get("source", {}), "precision": "fp32", "metrics": metrics}
