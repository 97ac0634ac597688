"""Control flow: If (a branch chosen when the graph is built where the condition is a constant, else
tf.cond, which TFLite runs as IF) and Loop (tf.while_loop, TFLite's WHILE)."""

from __future__ import annotations

import tensorflow as tf

from stages.tfops.table import op
from stages.tfops.values import Unsupported, static


def subgraphs(fn):
    fn.subgraphs = True
    return fn


@op("If")
@subgraphs
def if_(node, x, evaluator, env, known):
    then_branch, else_branch = node.attr("then_branch"), node.attr("else_branch")
    condition = static(x[0])
    if condition is not None:  # decided when the graph is built: the branch, inline
        return evaluator.run_graph(then_branch if bool(condition.reshape(())) else else_branch, env, known)
    return tf.cond(
        tf.reshape(x[0], []),
        lambda: evaluator.run_graph(then_branch, env),
        lambda: evaluator.run_graph(else_branch, env),
    )


@op("Loop")
@subgraphs
def loop(node, x, evaluator, env, known):
    body = node.attr("body")
    trip = x[0]
    condition = x[1] if len(x) > 1 and x[1] is not None else tf.constant(True)
    carried = list(x[2:])
    scans = len(body.output) - 1 - len(carried)
    if scans:
        raise Unsupported(f"Loop {node.name} with scan outputs")
    limit = tf.cast(tf.reshape(trip, []), tf.int64) if trip is not None else tf.constant(2**62, tf.int64)
    names = [value.name for value in body.input]

    def keep_going(i, cond, *state):
        return tf.logical_and(i < limit, tf.reshape(cond, []))

    def step(i, cond, *state):
        scope = {**env, names[0]: i, names[1]: cond, **dict(zip(names[2:], state, strict=True))}
        outputs = evaluator.run_graph(body, scope)
        return (i + 1, tf.reshape(tf.cast(outputs[0], tf.bool), []), *outputs[1:])

    results = tf.while_loop(
        keep_going, step, [tf.constant(0, tf.int64), tf.reshape(tf.cast(condition, tf.bool), []), *carried]
    )
    return list(results[2:])


# Optionals of one tensor: a graph's tensors are all present, so an optional is its tensor or nothing
@op("Optional")
def optional(node, x):
    if not x or x[0] is None:
        raise Unsupported(f"Optional {node.name} with no element (an empty optional as a tensor)")
    return tf.identity(x[0])


@op("OptionalHasElement")
def optional_has_element(node, x):
    return tf.constant(bool(x) and x[0] is not None)


@op("OptionalGetElement")
def optional_get_element(node, x):
    if not x or x[0] is None:
        raise Unsupported(f"OptionalGetElement {node.name} of an empty optional")
    return tf.identity(x[0])
