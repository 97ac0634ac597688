"""A mutable view of an ONNX graph for rewriting passes: who makes and who reads each tensor, the values
known when the graph is built, and node removal and insertion that keep the nodes in topological order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np


class Graph:
    def __init__(self, model, inputs: list[dict] | None = None):
        self.model = model
        self.inputs = inputs or []  # the manifest's input specs: shape inference starts from them
        self._shapes: dict | None = None
        self._folded: dict | None = None
        self.graph = model.graph
        self.constants = Constants(self.graph)
        self.outputs = {value.name for value in self.graph.output}
        self.index()

    def index(self) -> None:
        self.producer = {name: node for node in self.graph.node for name in node.output if name}
        self.consumers: dict[str, list] = defaultdict(list)
        for node in self.graph.node:
            for name in dict.fromkeys([*node.input, *outer_reads(node)]):
                if name:
                    self.consumers[name].append(node)

    def shape(self, name: str) -> list | None:
        """A tensor's shape by ONNX's shape inference at the inputs' shapes (batch 1 where dynamic; the
        dims it cannot tell are None), computed once per pass; None where it knows not even the rank."""
        from stages.onnx.static import shapes

        if name in self.constants.protos:
            return list(self.constants.protos[name].dims)
        if name in self.constants:
            return list(self.constants[name].shape)
        if self._shapes is None:
            self._shapes = shapes(self.model, self.inputs)
        inferred = self._shapes.get(name)
        made = self.producer.get(name)
        if (inferred is None or None in inferred or not inferred) and made is not None and made.op_type == "Reshape":
            return self._reshaped(made) or inferred
        return inferred

    def _reshaped(self, node) -> list | None:
        """A Reshape's output shape from its input's static shape and its target shape, where that is
        known when the graph is built (computed from Shape and constants: ONNX's inference leaves it out)."""
        source = self.shape(node.input[0])
        target = self.folded().get(node.input[1])
        if source is None or None in source or target is None:
            return None
        allow_zero = any(a.name == "allowzero" and a.i for a in node.attribute)
        dims = [source[i] if d == 0 and not allow_zero else int(d) for i, d in enumerate(target.reshape(-1))]
        if dims.count(-1) == 1:
            known = int(np.prod([d for d in dims if d != -1]))
            dims[dims.index(-1)] = int(np.prod(source)) // known if known else 0
        return dims if int(np.prod(dims)) == int(np.prod(source)) else None

    def folded(self) -> dict:
        """The value of every tensor computable when the graph is built: its constants, then every node of
        constants only and the Shape of a static tensor (stages/onnx/static.fold), in order; computed once
        per version of the graph."""
        from stages.onnx.static import fold

        if self._folded is not None:
            return self._folded
        values = self._folded = Known(self.constants)
        for node in self.graph.node:
            if node.op_type in ("If", "Loop", "Scan"):
                continue
            made = fold(node, values, self.shape, self.opset)
            if made is not None:
                values.update((name, np.asarray(value)) for name, value in zip(node.output, made, strict=False) if name)
        return values

    @property
    def opset(self) -> int:
        return next((o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")), 1)

    def made_by(self, name: str, op_type: str):
        """The node of `op_type` (default domain) that makes `name`, else None."""
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op_type and node.domain in ("", "ai.onnx") else None

    def only_reader(self, name: str, op_type: str | tuple[str, ...]):
        """The one node that reads `name`, if it is of `op_type` (or one of them) and `name` is not a graph
        output."""
        readers = self.consumers.get(name, [])
        if len(readers) != 1 or name in self.outputs:
            return None
        node = readers[0]
        wanted = (op_type,) if isinstance(op_type, str) else op_type
        return node if node.op_type in wanted and node.domain in ("", "ai.onnx") else None

    def scalar(self, name: str) -> float | None:
        """The value of a constant tensor that holds one number (any shape of size 1), else None."""
        value = self.constants.get(name)
        if value is None or value.size != 1 or not np.issubdtype(value.dtype, np.floating):
            return None
        return float(value.reshape(()))

    def other(self, node, name: str) -> str | None:
        """A binary node's input that is not `name` (None if both are, or the node is not binary)."""
        if len(node.input) != 2 or list(node.input).count(name) != 1:
            return None
        return node.input[1] if node.input[0] == name else node.input[0]

    def rewrite_each(self, op_type: str, plan, nodes) -> int:
        """Every node of `op_type` (default domain) for which `plan(self, node)` is not None replaced by
        `nodes(self, node, *plan)`; how many."""
        count = 0
        for node in [n for n in self.graph.node if n.op_type == op_type and n.domain in ("", "ai.onnx")]:
            found = plan(self, node)
            if found is not None:
                self.replace([node], nodes(self, node, *found))
                count += 1
        return count

    def replace(self, removed: list, added: list) -> None:
        """Take out `removed` and put `added` (in order) where the last removed node stood: every input of
        the new nodes is made before it, and every reader of their outputs comes after it. Nodes are known
        by their outputs (each tensor has one maker), since protobuf copies a node put into a graph."""
        from onnx import NodeProto

        gone = {tuple(node.output) for node in removed}
        last = max((i for i, node in enumerate(self.graph.node) if tuple(node.output) in gone), default=-1)
        rebuilt = []
        for i, node in enumerate(self.graph.node):
            if tuple(node.output) not in gone:
                rebuilt.append(copy(node, NodeProto))
            if i == last:
                rebuilt.extend(added)
        del self.graph.node[:]
        self.graph.node.extend(rebuilt)
        self.index()
        self._shapes = self._folded = None  # again when next asked: the rewrite may have made new tensors

    def elem_type(self, name: str):
        """The numpy type of a tensor, where the graph declares it (float32 where it does not)."""
        from onnx import helper

        if name in self.constants:
            return self.constants[name].dtype
        for value in (*self.graph.input, *self.graph.value_info, *self.graph.output):
            if value.name == name and value.type.tensor_type.elem_type:
                return np.dtype(helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type))
        return np.dtype(np.float32)

    def unused(self, name: str) -> str:
        """`name`, made unique among the graph's tensors."""
        taken = {init.name for init in self.graph.initializer} | set(self.producer) | set(self.consumers)
        unique, n = name, 1
        while unique in taken:
            unique, n = f"{name}_{n}", n + 1
        return unique

    def constant(self, name: str, value, dtype) -> str:
        """A new initializer named `name` (made unique) holding `value` as `dtype` (None: its own); its name."""
        from onnx import numpy_helper

        unique = self.unused(name)
        self.graph.initializer.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), unique))
        self.constants.values[unique] = np.asarray(value, dtype=dtype)
        return unique

    def drop_unread(self) -> int:
        """Take out the nodes none of whose outputs is read or a graph output (a rewrite made them dead),
        until none is left; how many."""
        count = 0
        while True:
            read = set(self.consumers) | self.outputs
            dead = [node for node in self.graph.node if not any(name in read for name in node.output if name)]
            if not dead:
                return count
            self.replace(dead, [])
            count += len(dead)

    def keep_initializers(self, keep) -> None:
        """Only the initializers for which `keep(name)` holds (copies: protobuf may not keep a removed
        element valid)."""
        kept = [init for init in self.graph.initializer if keep(init.name)]
        if len(kept) != len(self.graph.initializer):
            from onnx import TensorProto

            kept = [copy(init, TensorProto) for init in kept]
            del self.graph.initializer[:]
            self.graph.initializer.extend(kept)

    def prepend(self, nodes: list) -> None:
        """`nodes` put first in the graph (they read only its inputs and constants)."""
        from onnx import NodeProto

        rebuilt = [*nodes, *(copy(node, NodeProto) for node in self.graph.node)]
        del self.graph.node[:]
        self.graph.node.extend(rebuilt)
        self.index()

    def axes(self, name: str, axes: list[int]) -> tuple[list[str], dict]:
        """A Squeeze's or Unsqueeze's axes, as ONNX takes them at the graph's opset: (the extra input, an
        initializer named from `name`, and no attribute) from opset 13, (no input, the attribute) before."""
        if self.opset >= 13:
            return [self.constant(name, axes, np.int64)], {}
        return [], {"axes": list(axes)}

    def prune(self) -> None:
        """Drop the constants (initializers, Constant nodes) that a rewrite left unread."""
        read = set(self.consumers) | self.outputs
        self.keep_initializers(lambda name: name in read)
        unread = [node for node in self.graph.node if node.op_type == "Constant" and node.output[0] not in read]
        if unread:
            self.replace(unread, [])


class Constants(Mapping):
    """The graph's initializers and Constant nodes' values by name, each made a numpy array when first
    read: a pass that reads a few scalars does not copy a model's weights."""

    def __init__(self, graph):
        self.protos = {init.name: init for init in graph.initializer}
        self.nodes = {
            node.output[0]: node
            for node in graph.node
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and constant_of(node, peek=True)
        }
        self.values: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.values:
            from onnx import numpy_helper

            if name in self.protos:
                self.values[name] = numpy_helper.to_array(self.protos[name])
            elif name in self.nodes:
                self.values[name] = constant_of(self.nodes[name])
            else:
                raise KeyError(name)
        return self.values[name]

    def __contains__(self, name) -> bool:
        return name in self.values or name in self.protos or name in self.nodes

    def __iter__(self):
        return iter({**dict.fromkeys(self.protos), **dict.fromkeys(self.nodes), **dict.fromkeys(self.values)})

    def __len__(self) -> int:
        return len(set(self.protos) | set(self.nodes) | set(self.values))


class Known(dict):
    """Values computed when the graph is built, over its constants (read from them only when asked)."""

    def __init__(self, constants: Constants):
        super().__init__()
        self.constants = constants

    def __missing__(self, name: str) -> np.ndarray:
        return self.constants[name]

    def __contains__(self, name) -> bool:
        return dict.__contains__(self, name) or name in self.constants

    def get(self, name, default=None):
        return self[name] if name in self else default


class Steps:
    """The nodes a rewrite puts in place of one, built in order: each named `name/label` and making
    `name/label_out`; the last one named `name` and making `out`, the replaced node's output, so that its
    readers see no change. Called with (op, label, inputs, last=…, **attributes), returns the output."""

    def __init__(self, name: str, out: str):
        self.name, self.out, self.made = name, out, []

    def __call__(self, op: str, label: str, inputs, last: bool = False, **attributes) -> str:
        from onnx import helper

        output = self.out if last else f"{self.name}/{label}_out"
        self.made.append(
            helper.make_node(
                op, list(inputs), [output], name=self.name if last else f"{self.name}/{label}", **attributes
            )
        )
        return output


def rename_reads(node, old: str, new: str) -> None:
    """`node` (and the nodes of its subgraphs, which may read the outer graph's tensors) reading `new`
    where it read `old`."""
    for i, name in enumerate(node.input):
        if name == old:
            node.input[i] = new
    for attribute in node.attribute:
        for sub in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
            for inner in sub.node:
                rename_reads(inner, old, new)


def outer_reads(node) -> set[str]:
    """The names a node's subgraphs (an If's branches, a Loop's body) read from the graph around them: it
    reads them too, and a rewrite must not take them away."""
    names: set[str] = set()
    for attribute in node.attribute:
        for sub in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
            made = {init.name for init in sub.initializer} | {value.name for value in sub.input}
            made |= {name for inner in sub.node for name in inner.output}
            for inner in sub.node:
                names |= {name for name in (*inner.input, *outer_reads(inner)) if name and name not in made}
    return names


def copy(message, kind):
    made = kind()
    made.CopyFrom(message)
    return made


VALUE_ATTRIBUTES = ("value", "value_float", "value_int", "value_floats", "value_ints")


def constant_of(node, peek: bool = False):
    """A Constant node's value (`peek`: only whether it has one this reads)."""
    from onnx import helper, numpy_helper

    if peek:
        return any(a.name in VALUE_ATTRIBUTES for a in node.attribute)
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if attribute.name == "value":
            return numpy_helper.to_array(value)
        if attribute.name in ("value_float", "value_int"):
            return np.asarray(value)
        if attribute.name in ("value_floats", "value_ints"):
            return np.asarray(list(value))
    return None
