"""What the op handlers share while an ONNX graph becomes a torch.fx graph.

Every tensor of the ONNX graph is one of three things here:
- a node of the fx graph (`values`): computed when the model runs;
- a constant (`constants`): an initializer, a Constant, or a node of constants only, evaluated while the
  graph is built; it becomes a parameter or buffer of the module the first time a node reads it as a tensor;
- a size (`sizes`): integers computed from the inputs' shapes (Shape -> Gather -> Concat feeding a
  Reshape) that change with the batch. Each element is `base + slope * batch`, found by evaluating the
  shape arithmetic at three batch sizes; a handler that takes sizes (Reshape, Expand, Slice …) gets the
  constant elements as ints and the others as fx nodes computed from the input's own `size()`, so the
  batch stays dynamic in torch.export.

Each fx node is evaluated on meta tensors (shapes and dtypes, no data) at every batch size the graph is
built for, as it is made: handlers read exact shapes and dtypes from torch itself, and an op torch refuses
is named with its ONNX node while the graph is built, not later inside torch.export.
"""

from __future__ import annotations

import builtins
import keyword
import operator
import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.fx

from stages.onnx.emitter import Unsupported


class NeedsStaticBatch(Exception):
    """A value computed from the batch size is used where it must be a constant (data, or a size the graph
    cannot carry as an expression): the graph is built again with the batch fixed."""


class TorchRefused(Exception):
    """torch refused a call made for a node (raised while evaluating it on meta tensors)."""


@dataclass(frozen=True)
class Sizes:
    """Integers that depend on the batch: value = base + slope * batch, element by element."""

    base: np.ndarray
    slope: np.ndarray

    def at(self, batch: int) -> np.ndarray:
        return (self.base + self.slope * batch).astype(self.base.dtype)


def identifier(name: str, taken: set[str], prefix: str) -> str:
    """`name` as a Python identifier that is not a keyword, a builtin or `self`, unique among `taken`."""
    text = re.sub(r"\W", "_", name) or prefix
    if text[0].isdigit():
        text = f"{prefix}_{text}"
    if keyword.iskeyword(text) or hasattr(builtins, text) or text in ("self", "torch", "operator"):
        text += "_"
    unique, count = text, 0
    while unique in taken:
        count += 1
        unique = f"{text}_{count}"
    taken.add(unique)
    return unique


def torch_dtype(dtype) -> torch.dtype:
    return torch.from_numpy(np.empty(0, dtype=np.dtype(dtype))).dtype


def _meta(value):
    return value.to("meta") if isinstance(value, torch.Tensor) else value


class Graph:
    def __init__(self, opset: int, batches: tuple[int, ...]):
        self.fx = torch.fx.Graph()
        self.root = torch.nn.Module()
        self.opset = opset
        self.batches = batches  # (1, 2, 3) when the batch is dynamic, else the fixed batch
        self.values: dict[str, torch.fx.Node] = {}
        self.constants: dict[str, np.ndarray] = {}
        self.sizes: dict[str, Sizes] = {}
        self.known: dict[int, dict[str, np.ndarray]] = {b: {} for b in batches}  # constants and sizes, per batch
        self.parameters: dict[str, str] = {}  # ONNX tensor name -> attribute of the module
        self._attribute_nodes: dict[str, torch.fx.Node] = {}
        self._names: set[str] = set(dir(torch.fx.GraphModule))  # attributes: never shadow the module's own
        self._batch: tuple[torch.fx.Node, int] | None = None
        self._batch_node: torch.fx.Node | None = None
        self._expressions: dict[tuple[int, int], torch.fx.Node] = {}
        self.batch_limit: int | None = None  # the largest batch the graph computes as ONNX does (see limit_batch)
        self.convert_nodes = None  # converts a list of ONNX nodes into this graph (set by build.py)

    @property
    def dynamic(self) -> bool:
        return len(self.batches) > 1

    # -- inputs, constants, sizes -------------------------------------------------------------------------

    def placeholder(
        self, onnx_name: str, argument: str, shapes: dict[int, list[int]], dtype: str, batch_axis: int | None
    ) -> torch.fx.Node:
        node = self.fx.placeholder(argument)
        node.meta["at"] = {b: torch.empty(shapes[b], dtype=torch_dtype(dtype), device="meta") for b in self.batches}
        self.values[onnx_name] = node
        if self.dynamic and batch_axis is not None and self._batch is None:
            self._batch = (node, batch_axis)
        return node

    def set_constant(self, name: str, value: np.ndarray) -> None:
        self.constants[name] = value
        for known in self.known.values():
            known[name] = value

    def set_sizes(self, name: str, sizes: Sizes) -> None:
        self.sizes[name] = sizes
        for batch, known in self.known.items():
            known[name] = sizes.at(batch)

    def is_known(self, name: str) -> bool:
        return name in self.constants or name in self.sizes

    def constant(self, name: str, node, what: str) -> np.ndarray:
        """A constant input of `node` as an array (a weight, axes, pads …)."""
        if name in self.constants:
            return self.constants[name]
        if name in self.sizes:
            raise NeedsStaticBatch(f"{node.op_type} node {node.name!r}: its {what} ({name}) changes with the batch")
        raise Unsupported(
            f"{node.op_type} node {node.name!r}: its {what} ({name}) is computed in the graph; "
            f"the PyTorch emitter needs it constant"
        )

    def ints(self, name: str, node, what: str) -> list:
        """A 1-D (or 0-d) integer input of `node` (a shape, sizes, slice bounds): constant elements as ints,
        those that change with the batch as fx nodes computing them from the input's size()."""
        if name in self.constants:
            return np.asarray(self.constants[name]).astype(np.int64).reshape(-1).tolist()
        if name in self.sizes:
            sizes = self.sizes[name]
            return [
                int(base) if not slope else self.batch_expression(int(slope), int(base))
                for base, slope in zip(sizes.base.reshape(-1), sizes.slope.reshape(-1), strict=True)
            ]
        if self.dynamic:
            raise NeedsStaticBatch(f"{node.op_type} node {node.name!r}: its {what} ({name}) is computed in the graph")
        raise Unsupported(
            f"{node.op_type} node {node.name!r}: its {what} ({name}) is computed from the data; "
            f"the PyTorch emitter needs it constant"
        )

    def batch_expression(self, slope: int, base: int) -> torch.fx.Node:
        """slope * batch + base, as fx nodes on the batch input's size()."""
        key = (slope, base)
        if key not in self._expressions:
            if self._batch_node is None:
                source, axis = self._batch
                self._batch_node = self.call("size", source, axis, kind="call_method", name="batch")
            value = self._batch_node
            if slope != 1:
                value = self.call(operator.mul, value, slope)
            if base:
                value = self.call(operator.add, value, base)
            self._expressions[key] = value
        return self._expressions[key]

    def tensor(self, name: str, buffer: bool = False) -> torch.fx.Node:
        """An input of a node as an fx node; a constant becomes a parameter (float) or a buffer of the module
        the first time it is read (`buffer`: running statistics, which a user does not train)."""
        if name in self.values:
            return self.values[name]
        if name in self._attribute_nodes:
            return self._attribute_nodes[name]
        if name in self.sizes:
            raise NeedsStaticBatch(f"{name} is computed from the batch size and used as data")
        if name not in self.constants:
            raise Unsupported(f"tensor {name!r} is used before it is made")
        return self.attribute(name, self.constants[name], buffer)

    def attribute(self, name: str, value: np.ndarray, buffer: bool = False) -> torch.fx.Node:
        """`value` as a parameter or buffer of the module, named after the ONNX tensor `name`."""
        if name in self._attribute_nodes:
            return self._attribute_nodes[name]
        array = np.array(value, copy=True)
        if array.dtype.kind not in "fiub":
            raise Unsupported(f"tensor {name!r} holds {array.dtype} values, which torch has no tensor for")
        tensor = torch.from_numpy(array)
        attr = identifier(name, self._names, "w")
        if tensor.is_floating_point() and not buffer:
            self.root.register_parameter(attr, torch.nn.Parameter(tensor))
        else:
            self.root.register_buffer(attr, tensor)
        node = self.fx.get_attr(attr)
        node.meta["at"] = {b: tensor.to("meta") for b in self.batches}
        self.parameters[name] = attr
        self._attribute_nodes[name] = node
        return node

    # -- calls --------------------------------------------------------------------------------------------

    def call(self, target, *args, kind: str = "call_function", name: str | None = None, **kwargs) -> torch.fx.Node:
        """A new fx node, evaluated on meta tensors at every batch the graph is built for."""
        node = self.fx.create_node(kind, target, args, kwargs, name=re.sub(r"\W", "_", name) if name else None)
        try:
            node.meta["at"] = {b: self._evaluate(node, b) for b in self.batches}
        except Exception as exc:  # torch raises many types for a call it refuses
            self.fx.erase_node(node)
            raise TorchRefused(_first_line(exc)) from None
        return node

    def _evaluate(self, node: torch.fx.Node, batch: int):
        args = torch.fx.node.map_arg(node.args, lambda n: n.meta["at"][batch])
        kwargs = torch.fx.node.map_arg(node.kwargs, lambda n: n.meta["at"][batch])
        with torch.device("meta"), torch.no_grad():
            if node.op == "call_method":
                return _meta(getattr(args[0], node.target)(*args[1:], **kwargs))
            result = node.target(*args, **kwargs)
        return tuple(_meta(r) for r in result) if isinstance(result, (tuple, list)) else _meta(result)

    # -- what a tensor is ---------------------------------------------------------------------------------

    def value(self, name: str, batch: int | None = None):
        """A tensor as it is at one batch: a meta tensor for a node, the array for a constant or size."""
        batch = self.batches[0] if batch is None else batch
        if name in self.values:
            return self.values[name].meta["at"][batch]
        if name in self._attribute_nodes:
            return self._attribute_nodes[name].meta["at"][batch]
        if name in self.known[batch]:
            return self.known[batch][name]
        raise Unsupported(f"tensor {name!r} is used before it is made")

    def shape(self, name: str, batch: int | None = None) -> list[int]:
        return [int(d) for d in self.value(name, batch).shape]

    def rank(self, name: str) -> int:
        return len(self.value(name).shape)

    def dtype(self, name: str) -> torch.dtype:
        value = self.value(name)
        return value.dtype if isinstance(value, torch.Tensor) else torch_dtype(value.dtype)

    def varies(self, name: str, axis: int) -> bool:
        """Whether a dimension changes with the batch."""
        return len({self.shape(name, b)[axis] for b in self.batches}) > 1

    def dim(self, name: str, axis: int):
        """One dimension: an int where it is the same at every batch, else the tensor's size() node."""
        if not self.varies(name, axis):
            return self.shape(name)[axis]
        return self.call("size", self.tensor(name), axis, kind="call_method")

    def limit_batch(self, name: str, axis: int, bound: int) -> None:
        """A dimension that grows with the batch is sliced up to a fixed `bound` (tf2onnx writes 1e9 for "to the
        end"): what the graph computes is ONNX's only while the dimension stays below it, so the exported
        program's batch is bounded there (torch.export guards it), not silently truncated."""
        sizes = [self.shape(name, b)[axis] for b in self.batches]
        slope, base = sizes[1] - sizes[0], 2 * sizes[0] - sizes[1]
        if slope > 0:
            limit = (bound - 1 - base) // slope
            self.batch_limit = limit if self.batch_limit is None else min(self.batch_limit, limit)

    def static_dims(self, name: str, axes, node, what: str) -> list[int]:
        """Dimensions a handler needs as numbers (a pooling window's input size …): refused if they vary."""
        axes = list(axes)
        if any(self.varies(name, a) for a in axes):
            raise NeedsStaticBatch(f"{node.op_type} node {node.name!r}: {what} changes with the batch")
        shape = self.shape(name)
        return [shape[a] for a in axes]


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
