"""An ONNX model as a torch.fx GraphModule, node by node (the PyTorch target's emitter, stages/torch/emit.py).

Nodes whose outputs are known before the model runs are evaluated here instead of converted: Constants,
the Shape (and Size) of any tensor, and nodes of constants only (with ONNX's reference implementation).
Where the batch is dynamic, each of them is evaluated at batch sizes 1, 2 and 3: equal values are
constants; integers that grow by the same step are sizes (graph.Sizes), carried as expressions of the
batch; anything else is converted. Every other node goes to its handler (ops/), which adds fx nodes; a
node without one is refused, naming the op and the node, and nothing is guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.fx

from stages.errors import StageError
from stages.onnx import emitter
from stages.onnx.emitter import DEFAULT_DOMAINS, Unsupported, attrs
from stages.onnx.static import fold
from stages.torch.from_onnx import ops  # noqa: F401  (its modules register their handlers)
from stages.torch.from_onnx.graph import Graph, NeedsStaticBatch, Sizes, TorchRefused, identifier, torch_dtype
from stages.torch.from_onnx.table import OPS

DYNAMIC_BATCHES = (1, 2, 3)  # three points: an integer that is affine in the batch is told from one that is not


@dataclass
class Built:
    """The module, and how the model's own names map onto it."""

    module: torch.fx.GraphModule
    arguments: dict[str, str]  # ONNX input -> forward() argument
    outputs: list[str]  # ONNX outputs, in the order forward() returns them
    parameters: dict[str, str]  # ONNX tensor (initializer or folded constant) -> parameter or buffer
    dynamic: bool  # whether the graph was built with the batch as a variable
    batch_limit: int | None = None  # the largest batch it computes as ONNX does, where the graph bounds it


def build(model, inputs: list[dict], what: str, dynamic: bool) -> Built:
    """`inputs`: the bundle's input specs (name, shape, dtype, batch_axis). `dynamic`: build with the
    batch as a variable (raises graph.NeedsStaticBatch where the graph fixes it)."""
    g = Graph(emitter.opset(model), DYNAMIC_BATCHES if dynamic else (1,))
    for name, value in emitter.initializers(model).items():
        g.set_constant(name, value)
    arguments = _placeholders(g, model, inputs, what)
    g.convert_nodes = lambda nodes: _convert(g, nodes, what)  # If's handler inlines the branch it takes
    _convert(g, model.graph.node, what)
    outputs = _outputs(g, model, what)
    g.fx.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    g.fx.eliminate_dead_code()
    module = torch.fx.GraphModule(g.root, g.fx, class_name=identifier(Path(what).stem, set(), "Model"))
    module.eval()
    parameters = {name: attr for name, attr in g.parameters.items() if hasattr(module, attr)}
    return Built(module, arguments, [o.name for o in model.graph.output], parameters, g.dynamic, g.batch_limit)


def _convert(g: Graph, nodes, what: str) -> None:
    for node in nodes:
        if node.domain not in DEFAULT_DOMAINS:
            raise StageError(
                f"{what}: node {node.name!r} is {node.domain}.{node.op_type}, not a standard ONNX op; "
                f"the PyTorch emitter has no conversion for it"
            )
        if _fold(g, node):
            continue
        try:
            made = OPS(g, node, what)
        except TorchRefused as exc:
            if g.dynamic:  # a graph that holds only at the batch it was made at: build it at that batch
                raise NeedsStaticBatch(f"torch refuses {node.op_type} node {node.name!r} at other batch sizes: {exc}")
            raise StageError(f"{what}: torch refuses {node.op_type} node {node.name!r} as converted: {exc}") from None
        made = list(made) if isinstance(made, (list, tuple)) else [made]
        for name, value in zip(node.output, made, strict=False):
            if name and value is not None:  # None: the handler made it a constant or sizes itself
                g.values[name] = value


def _placeholders(g: Graph, model, inputs: list[dict], what: str) -> dict[str, str]:
    declared = [value.name for value in model.graph.input if value.name not in g.constants]
    given = {spec["name"]: spec for spec in inputs}
    missing = [name for name in declared if name not in given]
    if missing or set(given) - set(declared):
        raise StageError(f"{what}: the ONNX graph's inputs {declared} are not the bundle's {list(given)}")
    taken: set[str] = set()
    arguments = {}
    for name in declared:
        spec = given[name]
        axis = spec.get("batch_axis")
        shapes = {}
        for batch in g.batches:
            shape = list(spec["shape"])
            if g.dynamic and axis is not None:
                shape[axis] = batch
            shapes[batch] = shape
        arguments[name] = identifier(name, taken, "input")
        g.placeholder(name, arguments[name], shapes, spec["dtype"], axis)
    return arguments


def _constant(node) -> np.ndarray:
    from onnx import helper, numpy_helper

    attribute = node.attribute[0]
    if attribute.name == "value":
        return numpy_helper.to_array(attribute.t)
    if attribute.name == "sparse_value":
        raise StageError(
            f"Constant node {node.name!r} holds a sparse tensor; the PyTorch emitter has no conversion for it"
        )
    value = helper.get_attribute_value(attribute)
    dtypes = {"value_float": np.float32, "value_floats": np.float32, "value_int": np.int64, "value_ints": np.int64}
    return np.array(value, dtype=dtypes.get(attribute.name))


def _fold(g: Graph, node) -> bool:
    """Evaluate `node` now if its outputs are known before the model runs; False: it must be converted."""
    if node.op_type == "Constant":
        g.set_constant(node.output[0], _constant(node))
        return True
    if node.op_type in ("Shape", "Size"):
        a = attrs(node)
        per_batch = {}
        for batch in g.batches:
            shape = g.shape(node.input[0], batch)
            per_batch[batch] = [
                np.array(shape[a.get("start", 0) : a.get("end", len(shape))], np.int64)
                if node.op_type == "Shape"
                else np.array(math.prod(shape), np.int64)
            ]
    else:
        names = [name for name in node.input if name]
        if not names or not all(g.is_known(name) for name in names):
            return False
        if any(name in g.sizes for name in names):
            per_batch = {batch: fold(node, g.known[batch], lambda _: None, g.opset) for batch in g.batches}
        else:
            once = fold(node, g.known[g.batches[0]], lambda _: None, g.opset)
            per_batch = {batch: once for batch in g.batches}
    if any(values is None for values in per_batch.values()):
        return False
    made = [_classify([np.asarray(per_batch[batch][i]) for batch in g.batches]) for i in range(len(node.output))]
    if any(kind is None for kind, _ in made):
        return False
    for name, (kind, value) in zip(node.output, made, strict=False):
        if name:
            (g.set_constant if kind == "constant" else g.set_sizes)(name, value)
    return True


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _classify(values: list[np.ndarray]):
    """("constant", array) when every batch gives the same; ("sizes", Sizes) for integers affine in the
    batch; (None, None) otherwise."""
    first = values[0]
    if all(_same(first, value) for value in values[1:]):
        return "constant", first
    if first.dtype.kind in "iu" and len(values) == 3 and all(v.shape == first.shape for v in values):
        slope = values[1] - values[0]
        if np.array_equal(values[2] - values[1], slope):
            return "sizes", Sizes(values[0] - slope, slope)
    return None, None


def _outputs(g: Graph, model, what: str) -> list:
    from onnx import helper

    outputs = []
    for output in model.graph.output:
        try:
            node = g.tensor(output.name)
        except Unsupported:
            raise StageError(f"{what}: output {output.name} is not made by any node") from None
        if node.op in ("placeholder", "get_attr") or node in outputs:  # a module returns tensors of its own
            node = g.call(torch.clone, node, name=output.name)
        declared = output.type.tensor_type.elem_type
        if declared and torch_dtype(helper.tensor_dtype_to_np_dtype(declared)) != g.dtype(output.name):
            raise StageError(
                f"{what}: output {output.name} is {helper.tensor_dtype_to_np_dtype(declared)} in the "
                f"ONNX graph and {g.dtype(output.name)} as converted (an emitter fault: please report it)"
            )
        outputs.append(node)
    return outputs
