"""ONNX's LSTM and GRU as MXNet's fused RNN op (cuDNN's layout), one layer per node.

The weights are repacked: MXNet's gates are LSTM [i, f, g, o] and GRU [r, z, n], ONNX's LSTM [i, o, f, c]
and GRU [z, r, h]; its one flat parameter holds every direction's input and recurrent weights, then every
direction's input and recurrent biases. Y comes out as [seq, batch, directions · hidden] and is reshaped to
ONNX's [seq, directions, batch, hidden]. Refused, naming the node: a reverse-only direction, activations
other than the defaults, clip, input_forget, peepholes, sequence lengths shorter than the sequence, and a
GRU with linear_before_reset=0 (MXNet's, like cuDNN's, applies the reset after the recurrent product)."""

from __future__ import annotations

import mxnet as mx
import numpy as np

from stages.mxnet.onnx_ops import OPS, Graph
from stages.onnx.emitter import Unsupported, attrs

# MXNet's gate order, as indices into ONNX's gate blocks
GATES = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2]}
DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _check(node, a: dict, where: str) -> None:
    direction = _text(a.get("direction", "forward"))
    if direction not in ("forward", "bidirectional"):
        raise Unsupported(f"{where}: direction {direction}; MXNet's RNN runs forward or both ways")
    activations = [_text(v) for v in a.get("activations", [])]
    if activations and activations[: len(DEFAULT_ACTIVATIONS[node.op_type])] != DEFAULT_ACTIVATIONS[node.op_type]:
        raise Unsupported(f"{where}: activations {activations}; MXNet's RNN has the default ones only")
    if "clip" in a or a.get("input_forget", 0):
        raise Unsupported(f"{where}: clip or input_forget, which MXNet's RNN has not")
    if node.op_type == "GRU" and not a.get("linear_before_reset", 0):
        raise Unsupported(
            f"{where}: linear_before_reset=0; MXNet's GRU applies the reset after the recurrent "
            f"product (as PyTorch's, exported with linear_before_reset=1)"
        )


def _packed(kind: str, hidden: int, w: np.ndarray, r: np.ndarray, b: np.ndarray) -> np.ndarray:
    gates = len(GATES[kind])

    def reorder(m: np.ndarray) -> np.ndarray:
        return m.reshape(gates, hidden, *m.shape[1:])[GATES[kind]].reshape(gates * hidden, *m.shape[1:])

    weights, biases = [], []
    for d in range(w.shape[0]):
        weights += [reorder(w[d]).reshape(-1), reorder(r[d]).reshape(-1)]
        biases += [reorder(b[d][: gates * hidden]), reorder(b[d][gates * hidden :])]
    return np.concatenate(weights + biases).astype(np.float32)


@OPS.handles("LSTM", "GRU")
def recurrent(g: Graph, node):
    a, kind = attrs(node), node.op_type
    where = f"{kind} node {node.name!r}"
    _check(node, a, where)
    x_name, w_name, r_name, b_name, lengths, h0, c0, peepholes = (list(node.input) + [""] * 8)[:8]
    if peepholes:
        raise Unsupported(f"{where}: peephole weights, which MXNet's RNN has not")
    hidden = int(a["hidden_size"])
    w, r = g.constant(w_name, node, "input weights"), g.constant(r_name, node, "recurrent weights")
    directions, gates = w.shape[0], len(GATES[kind])
    b = g.constant(b_name, node, "biases") if b_name else np.zeros((directions, 2 * gates * hidden), np.float32)
    batch_first = bool(a.get("layout", 0))
    shape = g.shape(x_name)
    if shape is None or len(shape) != 3 or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"{where}: its input's shape is not static")
    seq, batch = (shape[1], shape[0]) if batch_first else (shape[0], shape[1])
    if lengths and (g.constant(lengths, node, "sequence lengths") != seq).any():
        raise Unsupported(f"{where}: sequence lengths shorter than the sequence ({seq})")
    x = g.tensor(x_name)
    if batch_first:
        x = mx.sym.transpose(x, axes=(1, 0, 2))

    def state(name: str, label: str):
        if not name:
            return mx.sym.zeros(shape=(directions, batch, hidden), name=f"{node.output[0]}__{label}0")
        return mx.sym.transpose(g.tensor(name), axes=(1, 0, 2)) if batch_first else g.tensor(name)

    states = [state(h0, "h")] + ([state(c0, "c")] if kind == "LSTM" else [])
    out = mx.sym.RNN(
        x,
        g.param(f"{node.output[0]}__parameters", _packed(kind, hidden, w, r, b)),
        *states,
        state_size=hidden,
        num_layers=1,
        mode=kind.lower(),
        bidirectional=directions == 2,
        state_outputs=True,
        name=f"{node.output[0]}__rnn",
    )
    names = list(node.output) + [""] * 3
    y = mx.sym.transpose(
        mx.sym.reshape(out[0], shape=(seq, batch, directions, hidden)),
        axes=(1, 0, 2, 3) if batch_first else (0, 2, 1, 3),
        name=names[0] or None,
    )
    made = [y]
    for index in range(1, 1 + len(states)):
        last = out[index]
        made.append(
            mx.sym.transpose(last, axes=(1, 0, 2), name=names[index] or None)
            if batch_first
            else mx.sym.identity(last, name=names[index] or None)
        )
    return made[: len(node.output)]
