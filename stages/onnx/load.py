"""load/onnx: an ONNX model as the source: checked, optionally simplified, its samples made, and run once.

ONNX Runtime is the source framework here, so its outputs are the golden ones every target is held
to; where it cannot load the model (an opset newer than it knows, an op it lacks), ONNX's own
reference implementation computes them, and the metrics say so (`golden_by`). This stage runs the
model on the first sample only, for the outputs' signature: the golden outputs of every sample and the
noise floor are reference/onnx's (stages/onnx/reference.py), which runs beside the conversion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.onnx import allowlist

TOOLS = ("onnx", "onnxruntime", "onnxsim", "numpy")


# Above this much weight, the load stage's model keeps its weights in a file beside it (protobuf cannot
# serialize a message of 2 GiB or more) and ONNX Runtime reads the model from disk.
INLINE_LIMIT = 1536 << 20


def _user_paths(text: str, path: Path, name: str) -> str:
    """An onnx error names the bundle's copy; the user knows their own file."""
    return text.replace(str(path.parent) + "/", "").replace(str(path), name)


def newest_opset() -> int:
    from onnx import defs

    return defs.onnx_opset_version()


def check_opset(model: onnx.ModelProto, name: str) -> None:
    """An opset newer than this onnx knows would load, then fail later in every runtime: refuse it now."""
    newest = newest_opset()
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx") and entry.version > newest:
            raise StageError(
                f"{name} declares ONNX opset {entry.version}; the newest opset the runtimes here "
                f"know is {newest} (onnx {onnx.__version__}): export it at opset {newest} or lower"
            )


def external_tensors(model: onnx.ModelProto) -> list:
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    return [tensor for tensor in _get_all_tensors(model) if uses_external_data(tensor)]


def read_model(path: Path, name: str, trusted: bool = False) -> tuple[onnx.ModelProto, dict]:
    """The model with its weights, checked, and what the trust policy said of it; `name` is the user's
    file, named in every error."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError) as exc:
        raise StageError(
            f"{name} is not a readable ONNX model (truncated or not ONNX): {_user_paths(str(exc), path, name)}"
        ) from None
    if not model.graph.node:
        raise StageError(f"{name} is not an ONNX model: it has no graph nodes")
    check_opset(model, name)
    trust = allowlist.check(model, name, trusted)
    try:
        # By path: the checker then also checks every external data file (inside the model's folder, there).
        onnx.checker.check_model(str(path))
    except onnx.checker.ValidationError as exc:
        raise StageError(f"{name} fails onnx.checker: {_user_paths(str(exc).splitlines()[0], path, name)}") from None
    if external_tensors(model):
        from onnx.external_data_helper import load_external_data_for_model

        try:
            load_external_data_for_model(model, str(path.parent))
        except (OSError, ValueError) as exc:
            raise StageError(f"{name}: its external data cannot be read: {_user_paths(str(exc), path, name)}") from None
    return model, trust


def write_model(model: onnx.ModelProto, out: Path) -> Path:
    """model.onnx in the bundle: whole, or with its weights in model.onnx.data where they are too large
    for one protobuf message (the bundle then lists that file under `beside`)."""
    path = out / "model.onnx"
    size = sum(len(t.raw_data) for t in model.graph.initializer)
    if size < INLINE_LIMIT:
        path.write_bytes(model.SerializeToString())
    else:
        onnx.save_model(
            model,
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location="model.onnx.data",
            size_threshold=1024,
        )
    return path


def _dims(tensor) -> list[int | None]:
    """A tensor type's dimensions, None where dynamic (a dim_param, no value, or the -1 some exporters write)."""
    return [d.dim_value if d.HasField("dim_value") and d.dim_value >= 0 else None for d in tensor.shape.dim]


def bind_inputs(model: onnx.ModelProto, bound: dict, name: str) -> list[str]:
    """Fold the --bind constants into the graph: each named input becomes an initializer."""
    from onnx import numpy_helper

    folded = []
    for value in list(model.graph.input):
        if value.name not in bound:
            continue
        tensor = value.type.tensor_type
        dims = _dims(tensor)
        if None in dims:
            raise StageError(
                f"--bind {value.name}: input {value.name!r} of {name} has dynamic dimensions {dims}; "
                f"only inputs of a fixed shape (a scalar, [1]) can be fixed to a constant"
            )
        dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        given = bound[value.name]
        if isinstance(given, list):  # a 1-D input's values
            if len(dims) != 1 or dims[0] != len(given):
                raise StageError(
                    f"--bind {value.name}: {len(given)} values for input {value.name!r} of {name}, "
                    f"whose shape is {dims}"
                )
            constant = np.asarray(given, dtype=dtype)
        else:
            constant = np.full(dims, given, dtype=dtype)
        model.graph.initializer.append(numpy_helper.from_array(constant, value.name))
        model.graph.input.remove(value)
        folded.append(value.name)
    return folded


# Exporters whose graphs keep TensorFlow's layout: their 3-5-D inputs are channels-last (NWC, NHWC).
CHANNELS_LAST_PRODUCERS = ("tf2onnx", "keras2onnx")


def _family(model: onnx.ModelProto) -> str:
    """The layout family of the graph's inputs, from the exporter that wrote it (the file says which)."""
    return "channels_last" if model.producer_name in CHANNELS_LAST_PRODUCERS else "channels_first"


def _signature(model: onnx.ModelProto, shapes: dict, name: str) -> list[dict]:
    weights = {init.name for init in model.graph.initializer}
    inputs = []
    for value in model.graph.input:
        if value.name in weights:
            continue
        tensor = value.type.tensor_type
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type)).name
        dims = _dims(tensor)
        shape = shapes.get(value.name)
        if shape is not None and (
            len(shape) != len(dims) or any(d not in (None, s) for d, s in zip(dims, shape, strict=True))
        ):
            raise StageError(
                f"--input-shape {value.name}:{','.join(map(str, shape))} does not fit {name}, whose input is {dims}"
            )
        if np.dtype(dtype).kind not in "fiub":
            raise StageError(
                f"input {value.name!r} of {name} is {dtype}; modelferry feeds float, integer and boolean inputs"
            )
        inputs.append(samples_lib.input_spec(value.name, dims, shape, dtype, _family(model), name))
    samples_lib.check_shapes_named(shapes, inputs, name)
    return inputs


def onnx_session(model_file: Path, name: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    # its threads wait without spinning: the stages beside this one (the converters) want those cycles
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT's own exception types
        raise StageError(
            f"{name} does not load in ONNX Runtime: {_user_paths(str(exc).splitlines()[0], model_file, name)}"
        ) from None


def run_onnx(session, feeds: dict[str, np.ndarray], inputs: list[dict], name: str) -> dict[str, np.ndarray]:
    """ONNX Runtime's outputs, a whole batch at once where the batch is dynamic, else one by one."""
    dynamic = all(i.shape and not isinstance(i.shape[0], int) for i in session.get_inputs())
    names = [o.name for o in session.get_outputs()]

    def call(run: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            return dict(zip(names, session.run(names, run), strict=True))
        except Exception as exc:  # ORT's own exception types: the op that failed is in the message
            raise StageError(
                f"{name} fails in ONNX Runtime on the samples "
                f"({', '.join(f'{k}: {v.dtype}{list(v.shape)}' for k, v in run.items())}): "
                f"{str(exc).splitlines()[0]}"
            ) from None

    return feeding.run_all(call, feeds, inputs, batched=dynamic)


def run_reference(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], inputs: list[dict], name: str
) -> dict[str, np.ndarray]:
    """ONNX's own reference implementation (onnx.reference, numpy): the golden outputs where ONNX Runtime
    cannot run the model (an opset newer than it knows, an op it lacks)."""
    from onnx.reference import ReferenceEvaluator

    try:
        evaluator = ReferenceEvaluator(model)
    except Exception as exc:  # the evaluator raises whatever its op implementation raises
        raise StageError(
            f"{name} runs neither in ONNX Runtime nor in ONNX's reference implementation: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    names = [value.name for value in model.graph.output]
    dynamic = all(spec["shape"] and spec.get("batch_axis", 0) == 0 for spec in inputs) and all(
        not v.type.tensor_type.shape.dim or not v.type.tensor_type.shape.dim[0].HasField("dim_value")
        for v in model.graph.input
        if v.name in {spec["name"] for spec in inputs}
    )

    def call(run: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            return dict(zip(names, (np.asarray(v) for v in evaluator.run(None, run)), strict=True))
        except Exception as exc:
            raise StageError(
                f"{name} fails in ONNX's reference implementation on the samples: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ) from None

    return feeding.run_all(call, feeds, inputs, batched=dynamic)


def golden_runner(model_file: Path, inputs: list[dict], name: str, metrics: dict, model: onnx.ModelProto | None = None):
    """ONNX Runtime (on the bundle's model file); where it cannot load or run the model, ONNX's reference
    implementation (said in the metrics, with ONNX Runtime's reason), on `model` or the file read again."""
    sessions = []  # one session for the samples and their nudged copies

    def golden(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if metrics.get("golden_by") != "onnx.reference":
            try:
                if not sessions:
                    sessions.append(onnx_session(model_file, name))
                outputs = run_onnx(sessions[0], feeds, inputs, name)
                metrics["golden_by"] = "onnxruntime"
                return outputs
            except StageError as exc:  # an opset newer than it knows, an op or attribute it lacks
                metrics.update(golden_by="onnx.reference", onnxruntime_refused=str(exc)[:300])
        return run_reference(model if model is not None else onnx.load(str(model_file)), feeds, inputs, name)

    return golden


def run(ctx: StageContext) -> dict:
    source = ctx.source
    path = source.file("model")
    name = ctx.user_file_name("model")
    model, trust = read_model(path, name, bool(ctx.option("trust_custom_code")))
    metrics = {
        "opset": next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None),
        "nodes_in": len(model.graph.node),
        "trust": trust,
    }
    bound = ctx.option("bind", {})
    if bound:
        metrics["bound"] = {key: bound[key] for key in bind_inputs(model, bound, name)}
        unknown = sorted(set(bound) - set(metrics["bound"]))
        if unknown:
            raise StageError(
                f"--bind names {unknown}, but the inputs of {name} are {[v.name for v in model.graph.input]}"
            )
    if ctx.option("simplify"):
        from onnxsim import simplify

        simplified, ok = simplify(model)
        if not ok:
            raise StageError(f"onnxsim could not simplify {name} without changing it; run without --simplify")
        model = simplified
    metrics["nodes"] = len(model.graph.node)
    inputs = _signature(model, ctx.option("input_shapes", {}), name)
    samples_lib.check_described(ctx.config, inputs, name)
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    model_file = write_model(model, ctx.out)
    once = golden_runner(model_file, inputs, name, {}, model)(samples_lib.first(feeds, inputs, 1))
    samples_lib.check_finite(once, name, made_up=info.get("synthetic", True))
    files.update(samples_lib.write_samples(ctx.out, feeds))
    files["model"] = model_file.name
    outputs = samples_lib.output_specs(once, samples=1)
    manifest = {
        "format": "onnx",
        "files": files,
        "inputs": inputs,
        "outputs": outputs,
        "source": source.manifest.get("source", {}),
        "precision": "fp32",
        "metrics": metrics,
        "samples_info": info,
    }
    if (ctx.out / "model.onnx.data").is_file():
        manifest["beside"] = ["model.onnx.data"]
    return manifest
