"""An ONNX graph as a TF SavedModel by modelferry's own translation (stages/tfops/graph.py): one
tf.function that evaluates the graph op by op, inputs at the manifest's static shapes."""

from __future__ import annotations

from pathlib import Path

from stages.contract import SERVING_SIGNATURE
from stages.errors import StageError
from stages.tfops.graph import Evaluator, computable

SIGNATURE = SERVING_SIGNATURE


def save(onnx_path: Path, inputs: list[dict], outputs: list[dict], out: Path) -> None:
    """`inputs`/`outputs`: the manifest's specs, named as in the graph (TF-safe names)."""
    import onnx
    import tensorflow as tf

    model = onnx.load(str(onnx_path))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    evaluator = Evaluator(opset)
    graph_inputs = [
        value.name for value in model.graph.input if value.name not in {init.name for init in model.graph.initializer}
    ]
    specs = {spec["name"]: spec for spec in inputs}
    missing = [name for name in graph_inputs if name not in specs]
    if missing:
        raise StageError(f"the graph's inputs {missing} are not in the manifest")
    signature = [
        tf.TensorSpec(specs[name]["shape"], tf.as_dtype(specs[name]["dtype"]), name=name) for name in graph_inputs
    ]
    names = [spec["name"] for spec in outputs]

    declared = {spec["name"]: tf.as_dtype(spec["dtype"]) for spec in outputs if spec.get("dtype")}

    def serve(*tensors):
        results = evaluator.run_graph(model.graph, dict(zip(graph_inputs, map(computable, tensors), strict=True)))
        by_name = dict(zip([value.name for value in model.graph.output], results, strict=True))
        return {name: tf.identity(_as(by_name[name], declared.get(name)), name=name) for name in names}

    # each function once in the SavedModel: a tf.function that makes variables is traced twice, so a first one,
    # not saved, makes them (handler errors surface here) and the saved one finds them; and the signature is
    # that function itself (given one of its concrete functions, save wrote the graph a second time)
    tf.function(serve, input_signature=signature, autograph=False).get_concrete_function()
    module = tf.Module()
    module.serve = tf.function(serve, input_signature=signature, autograph=False)
    module.weights = evaluator.variables  # tracked: saved once as the SavedModel's variables
    tf.saved_model.save(module, str(out), signatures={SIGNATURE: module.serve})


def _as(tensor, dtype):
    """An output in its declared type again (float64 outputs are computed in float32)."""
    import tensorflow as tf

    return tf.cast(tensor, dtype) if dtype is not None and tensor.dtype != dtype else tensor
