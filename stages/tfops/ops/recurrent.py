"""ONNX's recurrent layers (LSTM, GRU, RNN), unrolled over a sequence length known when the graph is built."""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from stages.tfops.table import op
from stages.tfops.values import Unsupported

ACTIVATIONS = {"Sigmoid": tf.sigmoid, "Tanh": tf.tanh, "Relu": tf.nn.relu}


def _activations(node, count: int, defaults: list[str]):
    names = node.attr("activations") or defaults * (2 if node.attr("direction", "forward") == "bidirectional" else 1)
    try:
        return [ACTIVATIONS[name] for name in names]
    except KeyError as exc:
        raise Unsupported(f"{node.op} {node.name}: activation {exc.args[0]}") from None


def _steps(node, x):
    data = x[0]
    if node.attr("layout", 0):
        data = tf.transpose(data, [1, 0, 2])
    if data.shape[0] is None:
        raise Unsupported(f"{node.op} {node.name}: a sequence length not known when the graph is built")
    if len(x) > 4 and x[4] is not None:
        raise Unsupported(f"{node.op} {node.name}: sequence_lens")
    return tf.unstack(data, axis=0)


@dataclass
class Layer:
    """What every recurrent layer reads: the time steps, weights W and R [dirs, gates*hidden, …], the bias
    B [dirs, 2*gates*hidden] (or None), the initial state h0 [dirs, batch, hidden] (or None)."""

    steps: list
    w: object
    r: object
    hidden: int
    b: object
    h0: object

    def initial(self, h0, d: int):
        return (
            h0[d]
            if h0 is not None
            else tf.zeros(tf.stack([tf.shape(self.steps[0])[0], self.hidden]), self.steps[0].dtype)
        )


def _layer(node, x) -> Layer:
    def given(i):
        return x[i] if len(x) > i and x[i] is not None else None

    return Layer(_steps(node, x), x[1], x[2], node.attr("hidden_size") or x[2].shape[-1], given(3), given(5))


def _directions(node) -> list[bool]:
    """Per direction: whether it runs backwards."""
    return {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[node.attr("direction", "forward")]


def _outputs(node, sequences, finals_h, finals_c=None):
    y = tf.stack([tf.stack(seq, axis=0) for seq in sequences], axis=1)  # [seq, dirs, batch, hidden]
    y_h = tf.stack(finals_h, axis=0)
    outs = [y, y_h] + ([tf.stack(finals_c, axis=0)] if finals_c is not None else [])
    if node.attr("layout", 0):
        outs[0] = tf.transpose(y, [2, 0, 1, 3])
        outs[1:] = [tf.transpose(o, [1, 0, 2]) for o in outs[1:]]
    return outs[: node.outputs]


@op("LSTM")
def lstm(node, x):
    layer = _layer(node, x)
    steps, w, r, hidden, b = layer.steps, layer.w, layer.r, layer.hidden, layer.b
    c0 = x[6] if len(x) > 6 and x[6] is not None else None
    if len(x) > 7 and x[7] is not None or node.attr("input_forget", 0) or node.attr("clip") is not None:
        raise Unsupported(f"LSTM {node.name}: peepholes, input_forget or clip")
    acts = _activations(node, 3, ["Sigmoid", "Tanh", "Tanh"])
    sequences, finals_h, finals_c = [], [], []
    for d, backwards in enumerate(_directions(node)):
        f, g, h_act = acts[3 * d : 3 * d + 3]
        h, c = layer.initial(layer.h0, d), layer.initial(c0, d)
        bias = b[d][: 4 * hidden] + b[d][4 * hidden :] if b is not None else 0.0
        out = []
        for step in reversed(steps) if backwards else steps:
            gates = tf.matmul(step, w[d], transpose_b=True) + tf.matmul(h, r[d], transpose_b=True) + bias
            i, o, fg, cc = tf.split(gates, 4, axis=-1)
            c = f(fg) * c + f(i) * g(cc)
            h = f(o) * h_act(c)
            out.append(h)
        sequences.append(out[::-1] if backwards else out)
        finals_h.append(h)
        finals_c.append(c)
    return _outputs(node, sequences, finals_h, finals_c)


@op("GRU")
def gru(node, x):
    layer = _layer(node, x)
    steps, w, r, hidden, b = layer.steps, layer.w, layer.r, layer.hidden, layer.b
    if node.attr("clip") is not None:
        raise Unsupported(f"GRU {node.name}: clip")
    acts = _activations(node, 2, ["Sigmoid", "Tanh"])
    before_reset = node.attr("linear_before_reset", 0)
    sequences, finals = [], []
    for d, backwards in enumerate(_directions(node)):
        f, g = acts[2 * d : 2 * d + 2]
        h = layer.initial(layer.h0, d)
        wb, rb = (b[d][: 3 * hidden], b[d][3 * hidden :]) if b is not None else (0.0, 0.0)
        wz, wr, wh = tf.split(w[d], 3, axis=0)
        rz, rr, rh = tf.split(r[d], 3, axis=0)
        bz, br_, bh = tf.split(wb, 3) if b is not None else (0.0, 0.0, 0.0)
        rbz, rbr, rbh = tf.split(rb, 3) if b is not None else (0.0, 0.0, 0.0)
        out = []
        for step in reversed(steps) if backwards else steps:
            z = f(tf.matmul(step, wz, transpose_b=True) + tf.matmul(h, rz, transpose_b=True) + bz + rbz)
            reset = f(tf.matmul(step, wr, transpose_b=True) + tf.matmul(h, rr, transpose_b=True) + br_ + rbr)
            if before_reset:
                candidate = g(
                    tf.matmul(step, wh, transpose_b=True) + reset * (tf.matmul(h, rh, transpose_b=True) + rbh) + bh
                )
            else:
                candidate = g(
                    tf.matmul(step, wh, transpose_b=True) + tf.matmul(reset * h, rh, transpose_b=True) + rbh + bh
                )
            h = (1 - z) * candidate + z * h
            out.append(h)
        sequences.append(out[::-1] if backwards else out)
        finals.append(h)
    return _outputs(node, sequences, finals)


@op("RNN")
def rnn(node, x):
    layer = _layer(node, x)
    steps, w, r, hidden, b = layer.steps, layer.w, layer.r, layer.hidden, layer.b
    acts = _activations(node, 1, ["Tanh"])
    sequences, finals = [], []
    for d, backwards in enumerate(_directions(node)):
        h = layer.initial(layer.h0, d)
        bias = b[d][:hidden] + b[d][hidden:] if b is not None else 0.0
        out = []
        for step in reversed(steps) if backwards else steps:
            h = acts[d](tf.matmul(step, w[d], transpose_b=True) + tf.matmul(h, r[d], transpose_b=True) + bias)
            out.append(h)
        sequences.append(out[::-1] if backwards else out)
        finals.append(h)
    return _outputs(node, sequences, finals)
