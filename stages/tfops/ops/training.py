"""ONNX's optimizer ops (domain ai.onnx.preview.training): one update step of Adagrad, Momentum and Adam
over n tensors, as ONNX's reference computes it. Inputs: R (learning rate), T (update count), then the n
tensors, their n gradients and their n accumulators (two sets for Adam); outputs: the new tensors, then
the new accumulators."""

from __future__ import annotations

import tensorflow as tf

from stages.tfops.table import op

DOMAIN = "ai.onnx.preview.training"


def _groups(x, sets: int) -> tuple:
    rate, count, rest = x[0], x[1], x[2:]
    n = len(rest) // sets
    return rate, count, [rest[i * n : (i + 1) * n] for i in range(sets)]


def _scalar(value, like):
    return tf.cast(tf.reshape(value, []), like.dtype)


@op(f"{DOMAIN}:Adagrad")
def adagrad(node, x):
    rate, count, (tensors, grads, squares) = _groups(x, 3)
    decay, eps, norm = node.attr("decay_factor", 0.0), node.attr("epsilon", 1e-6), node.attr("norm_coefficient", 0.0)
    new_x, new_h = [], []
    for value, grad, square in zip(tensors, grads, squares, strict=True):
        r = _scalar(rate, value) / (1 + _scalar(count, value) * decay)
        g = norm * value + grad
        h = square + g * g
        new_x.append(value - r * g / (tf.sqrt(h) + eps))
        new_h.append(h)
    return new_x + new_h


@op(f"{DOMAIN}:Momentum")
def momentum(node, x):
    rate, count, (tensors, grads, velocities) = _groups(x, 3)
    alpha, beta, norm = node.attr("alpha"), node.attr("beta"), node.attr("norm_coefficient")
    nesterov = node.attr("mode", "standard") == "nesterov"
    new_x, new_v = [], []
    for value, grad, velocity in zip(tensors, grads, velocities, strict=True):
        r = _scalar(rate, value)
        adjusted = tf.where(_scalar(count, value) > 0, tf.constant(beta, value.dtype), tf.constant(1, value.dtype))
        g = norm * value + grad
        v = alpha * velocity + adjusted * g
        new_x.append(value - r * ((g + alpha * v) if nesterov else v))
        new_v.append(v)
    return new_x + new_v


@op(f"{DOMAIN}:Adam")
def adam(node, x):
    rate, count, (tensors, grads, firsts, seconds) = _groups(x, 4)
    alpha, beta = node.attr("alpha", 0.9), node.attr("beta", 0.999)
    eps, norm, post = (
        node.attr("epsilon", 1e-6),
        node.attr("norm_coefficient", 0.0),
        node.attr("norm_coefficient_post", 0.0),
    )
    new_x, new_v, new_h = [], [], []
    for value, grad, first, second in zip(tensors, grads, firsts, seconds, strict=True):
        t = _scalar(count, value)
        g = norm * value + grad
        v = alpha * first + (1 - alpha) * g
        h = beta * second + (1 - beta) * g * g
        corrected = _scalar(rate, value) * tf.sqrt(1 - tf.pow(beta, t)) / (1 - tf.pow(alpha, t))
        r = tf.where(t > 0, corrected, _scalar(rate, value))
        new_x.append((1 - post) * (value - r * (v / (tf.sqrt(h) + eps))))
        new_v.append(v)
        new_h.append(h)
    return new_x + new_v + new_h
