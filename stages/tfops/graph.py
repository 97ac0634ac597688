"""Evaluate an ONNX graph with TF ops, node by node, inside a tf.function (modelferry's own translation).

Initializers become constants; each node's handler (stages/tfops/ops) gets the node's inputs as tensors
and returns its outputs; subgraphs (If branches) are evaluated the same way with the outer names in
scope. The result keeps the graph's semantics and layouts, so no layout is guessed."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from stages.errors import StageError
from stages.tfops.ops import load_all
from stages.tfops.table import handler_for
from stages.tfops.values import Unsupported, static


@dataclass
class Node:
    """One ONNX node as a handler sees it."""

    op: str
    name: str
    attrs: dict
    outputs: int
    version: int
    proto: object = field(repr=False, default=None)

    def attr(self, name: str, default=None):
        return self.attrs.get(name, default)


def _attributes(proto) -> dict:
    from onnx import helper

    attrs = {}
    for attribute in proto.attribute:
        value = helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode() for v in value]
        attrs[attribute.name] = value
    return attrs


class Evaluator:
    """Runs graphs (and their subgraphs) on TF tensors; one per traced function."""

    def __init__(self, opset: int):
        load_all()
        self.opset = opset
        self.names = itertools.count()  # inner names of inlined function bodies are made unique with it
        self.held: dict = {}  # the weights by their content: the SavedModel stores each once, beside its graph

    @property
    def variables(self) -> list:
        return list(self.held.values())

    def weight(self, value: np.ndarray):
        """A weight as a variable made outside the traced function (its value stored in the SavedModel's
        variables, not as a constant inside each function that reads it), read where it is used. One per
        content: tf.function traces twice where the first trace makes variables, and the second must find
        them; equal weights are stored once."""
        import hashlib

        import tensorflow as tf

        key = (value.dtype.str, value.shape, hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest())
        if key not in self.held:
            with tf.init_scope():
                self.held[key] = tf.Variable(value, trainable=False)
        return self.held[key]

    def version(self, op_type: str, domain: str) -> int:
        from onnx import defs

        try:
            return defs.get_schema(op_type, self.opset, domain).since_version
        except Exception:
            return self.opset

    def as_function(self, proto, env: dict, known: dict) -> list:
        """A node no handler translates, evaluated as the ops of its ONNX function body."""
        from onnx import helper

        from stages.onnx import functions
        from stages.tfops.ops.types import type_proto

        where = f"{proto.op_type} (node {proto.name or proto.output[0]})"
        try:
            function = functions.body(proto, self.opset, [type_proto(env[name]) for name in proto.input if name])
        except Exception as exc:  # onnx's C++ side refuses some nodes' context
            raise Unsupported(f"no TF translation of {where}, and its ONNX function body: {exc}") from None
        if function is None:
            raise Unsupported(f"no TF translation of {where}")
        nodes = functions.inline(proto, function, lambda base: f"{base}__{next(self.names)}", self.opset)
        body = helper.make_graph(nodes, where, [], [helper.make_empty_tensor_value_info(o) for o in proto.output if o])
        return self.run_graph(body, env, known)

    def run_graph(self, graph, scope: dict, known: dict | None = None) -> list:
        """Evaluate `graph` with `scope` (outer tensors by name); returns its outputs' tensors.

        Values known when the graph is built (initializers, Constants, shapes that are static, and every
        node whose inputs are all known) are computed right away, eagerly, and enter the graph as
        constants: shape arithmetic folds, and handlers that need a value (Reshape's shape, Pad's pads)
        find it, whatever ops computed it."""
        import tensorflow as tf
        from onnx import numpy_helper

        env, known = dict(scope), dict(known or {})

        def constant(name: str, value) -> None:
            known[name] = np.asarray(value)  # folding goes on in the value's own precision
            held = known[name].astype(np.float32) if known[name].dtype == np.float64 else known[name]  # computable
            env[name] = self.weight(held) if held.size > WEIGHT and held.dtype.kind == "f" else tf.constant(held)

        for init in graph.initializer:
            constant(init.name, numpy_helper.to_array(init))
        for proto in graph.node:
            handler = handler_for(proto.op_type, proto.domain, self.version(proto.op_type, proto.domain))
            if handler is None:
                for name, value in zip(proto.output, self.as_function(proto, env, known), strict=False):
                    if name:
                        env[name] = value
                        if static(value) is not None:
                            known[name] = static(value)
                continue
            node = Node(
                proto.op_type,
                proto.name or proto.output[0],
                _attributes(proto),
                len(proto.output),
                self.version(proto.op_type, proto.domain),
                proto,
            )
            names = [name for name in proto.input if name]
            inputs = [env[name] if name else None for name in proto.input]
            shaped = proto.op_type in ("Shape", "Size") and inputs[0].shape.is_fully_defined()
            folds = (
                not getattr(handler, "subgraphs", False)
                and proto.op_type not in NOT_FOLDED
                and (shaped or all(name in known for name in names))
            )
            try:
                if folds:  # eagerly, outside the traced function
                    with tf.init_scope():
                        given = [
                            tf.zeros(i.shape, i.dtype) if shaped else tf.constant(known[name]) if name else None
                            for name, i in zip(proto.input, inputs, strict=True)
                        ]
                        results = handler(node, given)
                        results = [
                            np.asarray(r) for r in (results if isinstance(results, (list, tuple)) else [results])
                        ]
                    for name, value in zip(proto.output, results, strict=False):
                        if name:
                            constant(name, value)
                    continue
                results = (
                    handler(node, inputs, self, env, known)
                    if getattr(handler, "subgraphs", False)
                    else handler(node, inputs)
                )
            except Unsupported:
                raise
            except Exception as exc:  # TF raises many types; name the node
                cause = " ".join(str(exc).split())[:300]
                raise StageError(f"node {node.name} ({node.op}): {type(exc).__name__}: {cause}") from None
            results = results if isinstance(results, (list, tuple)) else [results]
            for name, value in zip(proto.output, results, strict=False):
                if name:
                    env[name] = computable(value)
        missing = [value.name for value in graph.output if value.name not in env]
        if missing:  # a function body that leaves out an optional output the node asks for
            raise Unsupported(f"{graph.name}: its ONNX function body does not compute {missing}")
        return [env[value.name] for value in graph.output]


def computable(tensor):
    """float64 as float32: TFLite has no float64 kernels, so the graph computes in float32 between its
    inputs and outputs (which keep their declared types: stages/tfops/convert.py casts at both ends)."""
    import tensorflow as tf

    if tensor is not None and getattr(tensor, "dtype", None) == tf.float64:
        return tf.cast(tensor, tf.float32)
    return tensor


WEIGHT = 4096  # a float constant of more elements is a weight, held as a variable (shapes, pads, axes are not)

# Ops whose value must not be computed once when the graph is built.
NOT_FOLDED = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}
