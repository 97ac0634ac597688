"""emit/onnx-opset11: the ONNX graph at opset 11, for converters that read no newer one (onnx-tf 1.10).

onnx-tf picks each op's handler by the op's version at the graph's opset, and most of its handlers stop at
11 (Squeeze, Unsqueeze) or 13; ONNX's own version converter stops at the first op it has no adapter for
(If-16, Shape-15). So the graph is rewritten op by op, one small rewrite per op whose form changed:

- an input that became an attribute again (Squeeze/Unsqueeze/Reduce* `axes`, Split `split`), from constants;
- an op newer than opset 11 expanded into the ops its ONNX function body is made of (HardSwish, Mish …);
- Softmax-13 over the last axis, which is Softmax-11 over the last axis;
- any other op whose later versions only added types, under the older version.

An op this cannot take back (an attribute with no older form, axes computed at run time) is refused by
name. What this gets wrong, the gate catches: every artifact made from it is validated like any other.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from stages.context import StageContext
from stages.errors import StageError
from stages.onnx import functions

TOOLS = ("onnx",)
OPSET = 11
FORMAT = "onnx-opset11"


class Refused(Exception):
    """This node has no form at the target opset."""


class Graph:
    """What a rewrite needs of the graph: constant values, tensor ranks, fresh names."""

    def __init__(self, graph, ranks: dict[str, int]):
        from onnx import numpy_helper

        from stages.onnx.names import graphs

        self.ranks = ranks
        self.constants = {}
        for each in graphs(graph):  # subgraphs (If branches) too: their nodes read the outer graph's names
            self.constants.update({init.name: numpy_helper.to_array(init) for init in each.initializer})
            for node in each.node:
                if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                    self.constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        self.count = 0

    def constant(self, name: str, what: str) -> np.ndarray:
        if name not in self.constants:
            raise Refused(f"its {what} is computed at run time, and opset {OPSET} needs it as an attribute")
        return self.constants[name]

    def fresh(self, base: str) -> str:
        self.count += 1
        return f"{base}__opset{OPSET}_{self.count}"


REWRITES: dict[str, Callable] = {}


def rewrite(*ops: str):
    def register(fn):
        for op in ops:
            REWRITES[op] = fn
        return fn

    return register


def _attribute(node, name: str, default=None):
    from onnx import helper

    found = next((a for a in node.attribute if a.name == name), None)
    return helper.get_attribute_value(found) if found is not None else default


def _copy(node, inputs=None, **attributes):
    """`node` with these inputs and extra attributes (the rest of its attributes kept)."""
    from onnx import helper

    kept = {a.name: helper.get_attribute_value(a) for a in node.attribute if a.name not in attributes}
    kept.update({k: v for k, v in attributes.items() if v is not None})
    return helper.make_node(
        node.op_type,
        list(node.input if inputs is None else inputs),
        list(node.output),
        name=node.name,
        domain=node.domain,
        **kept,
    )


@rewrite("Squeeze", "Unsqueeze")
def axes_input(node, graph: Graph, version: int):
    if len(node.input) < 2 or not node.input[1]:
        return [node]
    axes = graph.constant(node.input[1], "axes input").astype(int).tolist()
    return [_copy(node, node.input[:1], axes=axes)]


@rewrite(
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceSumSquare",
)
def reduce_axes(node, graph: Graph, version: int):
    from onnx import helper

    axes = (
        graph.constant(node.input[1], "axes input").astype(int).tolist()
        if len(node.input) > 1 and node.input[1]
        else _attribute(node, "axes", [])
    )
    if not axes and _attribute(node, "noop_with_empty_axes", 0):
        return [helper.make_node("Identity", node.input[:1], list(node.output), name=node.name)]
    return [
        helper.make_node(
            node.op_type,
            node.input[:1],
            list(node.output),
            name=node.name,
            keepdims=_attribute(node, "keepdims", 1),
            **({"axes": axes} if axes else {}),
        )
    ]


@rewrite("Split")
def split_input(node, graph: Graph, version: int):
    from onnx import helper

    axis = _attribute(node, "axis", 0)
    if len(node.input) > 1 and node.input[1]:
        split = graph.constant(node.input[1], "split input").astype(int).tolist()
        return [helper.make_node("Split", node.input[:1], list(node.output), name=node.name, axis=axis, split=split)]
    parts = _attribute(node, "num_outputs")
    if parts is not None and parts != len(node.output):
        raise Refused("num_outputs differs from its outputs")
    return [helper.make_node("Split", node.input[:1], list(node.output), name=node.name, axis=axis)]


@rewrite("Softmax", "LogSoftmax", "Hardmax")
def last_axis(node, graph: Graph, version: int):
    """Opset 13 normalizes along one axis, opset 11 over everything from `axis` on: the same on the last
    axis. Another axis is moved last (Transpose), normalized there, and moved back."""
    from onnx import helper

    if version < 13:
        return [node]
    axis = _attribute(node, "axis", -1)
    rank = graph.ranks.get(node.input[0])
    if rank is None:
        if axis == -1:
            return [node]
        raise Refused(f"axis {axis} of an input whose rank is not known")
    axis %= rank
    if axis == rank - 1:
        return [_copy(node, axis=axis)]
    perm = [d for d in range(rank) if d != axis] + [axis]
    back = [perm.index(d) for d in range(rank)]
    moved, normalized = graph.fresh(f"{node.output[0]}/moved"), graph.fresh(f"{node.output[0]}/normalized")
    return [
        helper.make_node("Transpose", [node.input[0]], [moved], name=graph.fresh(node.name), perm=perm),
        helper.make_node(node.op_type, [moved], [normalized], name=node.name, axis=rank - 1),
        helper.make_node("Transpose", [normalized], list(node.output), name=graph.fresh(node.name), perm=back),
    ]


def defaults_only(**defaults):
    """A rewrite for an op whose later versions added attributes: the node as it is where each has its
    default (dropped), refused where not."""

    def check(node, graph: Graph, version: int):
        for name, default in defaults.items():
            value = _attribute(node, name, default)
            if (value.decode() if isinstance(value, bytes) else value) != default:
                raise Refused(f"its {name}={value!r} has no opset-{OPSET} form")
        from onnx import helper

        kept = helper.make_node(node.op_type, list(node.input), list(node.output), name=node.name, domain=node.domain)
        kept.attribute.extend(a for a in node.attribute if a.name not in defaults)
        return [kept]

    return check


@rewrite("Reshape")
def reshape(node, graph: Graph, version: int):
    """allowzero=1 (opset 14) differs from opset 11's Reshape only where the shape holds a 0."""
    if _attribute(node, "allowzero", 0) and 0 in graph.constant(node.input[1], "shape input").tolist():
        raise Refused("allowzero=1 with a 0 in its shape has no opset-11 form")
    return defaults_only(allowzero=1 if _attribute(node, "allowzero", 0) else 0)(node, graph, version)


REWRITES.update(
    {
        "Shape": defaults_only(start=0, end=None),
        "Cast": defaults_only(saturate=1),
        "BatchNormalization": defaults_only(training_mode=0),
        "Resize": defaults_only(antialias=0, keep_aspect_ratio_policy="stretch", axes=None),
    }
)


@rewrite("Pad")
def pad(node, graph: Graph, version: int):
    if len(node.input) > 3 and node.input[3]:
        raise Refused("its axes input has no opset-11 form")
    if _attribute(node, "mode") in (b"wrap", "wrap"):
        raise Refused("wrap padding has no opset-11 form")
    return [node]


def downgrade_nodes(nodes, version: int, graph: Graph, refused: list[str], changed: set[str]) -> list:
    from onnx import defs

    done = []
    queue = list(nodes)
    while queue:
        node = queue.pop(0)
        for attribute in node.attribute:  # If/Loop/Scan bodies
            for sub in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                kept = downgrade_nodes(list(sub.node), version, graph, refused, changed)
                del sub.node[:]
                sub.node.extend(kept)
        if node.domain not in ("", "ai.onnx"):
            done.append(node)
            continue
        try:
            schema = defs.get_schema(node.op_type, version, node.domain)
        except Exception:
            done.append(node)  # not an ONNX op: the converter will say
            continue
        if schema.since_version <= OPSET and node.op_type not in REWRITES:
            done.append(node)
            continue
        try:
            older = defs.get_schema(node.op_type, OPSET, node.domain)
        except Exception:
            older = None
        try:
            if older is None or older.since_version > OPSET:  # no such op at the target opset: its function body
                function = functions.body(node, version)
                if function is None:
                    raise Refused(
                        f"{node.op_type} came in opset {schema.since_version} and has no function body to expand"
                    )
                queue[:0] = functions.inline(node, function, graph.fresh, version)
                changed.add(f"{node.op_type} (expanded)")
                continue
            rewritten = (
                REWRITES[node.op_type](node, graph, schema.since_version) if node.op_type in REWRITES else [node]
            )
        except Refused as why:
            refused.append(f"{node.name or node.output[0]} ({node.op_type}-{schema.since_version}): {why}")
            done.append(node)
            continue
        if schema.since_version > OPSET:
            changed.add(f"{node.op_type}-{schema.since_version}")
        done.extend(rewritten)
    return done


def downgrade(model) -> list[str]:
    """Rewrite `model` to opset 11 in place; returns the ops it changed. Raises StageError naming
    the nodes it cannot take back."""
    import onnx

    version = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), OPSET)
    if version <= OPSET:
        return []
    inferred = onnx.shape_inference.infer_shapes(model)
    ranks = {
        v.name: len(v.type.tensor_type.shape.dim)
        for v in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)
        if v.type.tensor_type.HasField("shape")
    }
    refused, changed = [], set()
    kept = downgrade_nodes(list(model.graph.node), version, Graph(model.graph, ranks), refused, changed)
    if refused:
        raise StageError(f"{len(refused)} node(s) have no opset-{OPSET} form: {'; '.join(refused[:3])}")
    del model.graph.node[:]
    model.graph.node.extend(kept)
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = OPSET
    model.ir_version = min(model.ir_version, 7)  # what onnx 1.14's checker takes for opset 11
    return sorted(changed)


def run(ctx: StageContext) -> dict:
    import onnx

    source = ctx.source
    model = onnx.load(str(source.file("model")))
    name = ctx.user_file_name("model")
    try:
        changed = downgrade(model)
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise StageError(f"{name} at opset {OPSET} fails onnx.checker: {str(exc).splitlines()[0]}") from None
    onnx.save(model, str(ctx.out / "model.onnx"))
    return {
        **source.inherited(),
        "format": FORMAT,
        "opset": OPSET,
        "files": {"model": "model.onnx", **source.carry_to(ctx.out)},
        "metrics": {"rewritten": changed},
    }
