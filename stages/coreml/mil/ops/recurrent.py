"""lstm: MIL's gate order [input, forget, output, cell], forward, reverse or bidirectional, with peepholes
and the cell clip; states in float64."""

from __future__ import annotations

import numpy as np

from stages.coreml.mil.ops.registry import handles

ACTIVATIONS = {
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "tanh": np.tanh,
    "relu": lambda v: np.maximum(v, 0),
    "linear": lambda v: v,
    "hard_sigmoid": lambda v: np.clip(0.2 * v + 0.5, 0, 1),
    "scaled_tanh": lambda v: np.tanh(v),
}


def _direction(c, x, h, cell, suffix: str, reverse: bool):
    w_ih = np.asarray(c[f"weight_ih{suffix}"], np.float64)
    w_hh = np.asarray(c[f"weight_hh{suffix}"], np.float64)
    hidden = w_hh.shape[1]
    bias = np.asarray(c.get(f"bias{suffix}", np.zeros(4 * hidden)), np.float64)
    peep = np.asarray(c.get(f"peephole{suffix}", np.zeros(3 * hidden)), np.float64)
    gate = ACTIVATIONS[c.get("recurrent_activation", "sigmoid")]
    cell_act = ACTIVATIONS[c.get("cell_activation", "tanh")]
    out_act = ACTIVATIONS[c.get("activation", "tanh")]
    clip = c.float("clip")
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    outputs = [None] * x.shape[0]
    for t in steps:
        z = x[t] @ w_ih.T + h @ w_hh.T + bias
        i_, f_, o_, g_ = np.split(z, 4, axis=-1)
        i_ = gate(i_ + peep[:hidden] * cell)
        f_ = gate(f_ + peep[hidden : 2 * hidden] * cell)
        g_ = cell_act(g_)
        if clip is not None:
            g_ = np.clip(g_, -clip, clip)
        cell = f_ * cell + i_ * g_
        o_ = gate(o_ + peep[2 * hidden :] * cell)
        h = o_ * out_act(cell)
        outputs[t] = h
    return np.stack(outputs), h, cell, (steps[-1] if len(steps) else 0)


@handles("lstm")
def lstm(c):
    x = np.asarray(c["x"], np.float64)
    h0, c0 = np.asarray(c["initial_h"], np.float64), np.asarray(c["initial_c"], np.float64)
    direction = c.get("direction", "forward")
    if direction == "bidirectional":
        hidden = h0.shape[-1] // 2
        seq_f, h_f, c_f, _ = _direction(c, x, h0[:, :hidden], c0[:, :hidden], "", False)
        seq_b, h_b, c_b, _ = _direction(c, x, h0[:, hidden:], c0[:, hidden:], "_back", True)
        sequence = np.concatenate([seq_f, seq_b], axis=-1)
        last = np.concatenate([seq_f[-1:], seq_b[:1]], axis=-1)
        h, cell = np.concatenate([h_f, h_b], -1), np.concatenate([c_f, c_b], -1)
    else:
        sequence, h, cell, _ = _direction(c, x, h0, c0, "", direction == "reverse")
        last = h[None]
    out = sequence if c.bool("output_sequence") else last
    return out.astype(np.float32), h.astype(np.float32), cell.astype(np.float32)
