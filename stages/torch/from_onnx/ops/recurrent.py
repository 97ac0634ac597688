"""ONNX's LSTM and GRU as torch.lstm / torch.gru (one layer, each direction's weights reordered when the
graph is built: ONNX's gates are i, o, f, c and z, r, h; torch's i, f, g, o and r, z, n). What torch's
cells do not compute is refused: peepholes, clipping, other activations, coupled input-forget gates,
sequence lengths shorter than the sequence, a GRU that resets the state before its recurrent linear map
(ONNX's default linear_before_reset=0; torch's resets after it), and layout=1 (batch first), which ONNX
Runtime does not run either."""

from __future__ import annotations

import operator

import numpy as np
import torch

from stages.onnx.emitter import Unsupported, attrs
from stages.torch.from_onnx.table import OPS, present, text

GATES = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2]}  # torch's gate i comes from ONNX's gate GATES[op][i]
ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}
RUN = {"LSTM": torch.lstm, "GRU": torch.gru}


def _reordered(value: np.ndarray, op: str) -> np.ndarray:
    blocks = np.split(value, len(GATES[op]), axis=0)
    return np.ascontiguousarray(np.concatenate([blocks[i] for i in GATES[op]], axis=0))


def _refuse_what_torch_lacks(g, node, op: str, directions: int) -> None:
    a = attrs(node)
    why = None
    if a.get("clip") is not None:
        why = "clip"
    elif a.get("layout", 0):
        why = "layout=1 (batch first, which ONNX Runtime does not run to check it against)"
    elif op == "LSTM" and (a.get("input_forget", 0) or present(node, 7)):
        why = "input_forget or peepholes (P)"
    elif op == "GRU" and not a.get("linear_before_reset", 0):
        why = "linear_before_reset=0 (torch's GRU resets the state after the recurrent linear map, not before)"
    elif [text(x) for x in a.get("activations", [])] not in ([], ACTIVATIONS[op] * directions):
        why = f"activations {[text(x) for x in a['activations']]}"
    if why:
        raise Unsupported(f"{op} node {node.name!r}: {why} is not converted to torch.{op.lower()}")
    lengths = present(node, 4)
    if lengths:  # accepted where every sequence is whole
        full = [g.shape(node.input[0], b)[0] for b in g.batches]
        if not g.is_known(lengths) or any(
            np.any(np.asarray(g.value(lengths, b)) != n) for b, n in zip(g.batches, full, strict=True)
        ):
            raise Unsupported(f"{op} node {node.name!r}: sequence_lens shorter than the sequence, or computed")


@OPS.handles("LSTM", "GRU")
def recurrent(g, node):
    op, a = node.op_type, attrs(node)
    direction = text(a.get("direction", "forward"))
    directions = 2 if direction == "bidirectional" else 1
    _refuse_what_torch_lacks(g, node, op, directions)
    hidden = int(a["hidden_size"])
    gates = len(GATES[op])
    weights = g.constant(node.input[1], node, "W")
    recurrence = g.constant(node.input[2], node, "R")
    bias = (
        g.constant(node.input[3], node, "B")
        if present(node, 3)
        else np.zeros((directions, 2 * gates * hidden), weights.dtype)
    )
    tags = ["forward", "reverse"] if directions == 2 else [direction]
    bias_name = present(node, 3) or f"{node.name}_B"
    params = []  # torch's order: per direction weight_ih, weight_hh, bias_ih, bias_hh
    for d, tag in enumerate(tags):
        for key, source, value in (
            ("weight_ih", node.input[1], weights[d]),
            ("weight_hh", node.input[2], recurrence[d]),
            ("bias_ih", bias_name, bias[d][: gates * hidden]),
            ("bias_hh", bias_name, bias[d][gates * hidden :]),
        ):
            params.append(g.attribute(f"{source}.{tag}.{key}", _reordered(value, op)))
    x = g.tensor(node.input[0])
    dtype = g.dtype(node.input[0])
    batch = g.dim(node.input[0], 1)  # X: [sequence, batch, input]
    states = []
    for index in (5, 6)[: 2 if op == "LSTM" else 1]:  # initial_h, initial_c
        name = present(node, index)
        states.append(g.tensor(name) if name else g.call(torch.zeros, [directions, batch, hidden], dtype=dtype))
    reverse = direction == "reverse"
    if reverse:
        x = g.call(torch.flip, x, [0])
    hx = tuple(states) if op == "LSTM" else states[0]
    result = g.call(RUN[op], x, hx, params, True, 1, 0.0, False, directions == 2, False)
    y = g.call(torch.unflatten, g.call(operator.getitem, result, 0), -1, (directions, hidden))
    if reverse:
        y = g.call(torch.flip, y, [0])
    y = g.call(torch.permute, y, [0, 2, 1, 3], name=node.output[0] or None)  # ONNX's [seq, directions, batch, hidden]
    return [y, *(g.call(operator.getitem, result, i) for i in range(1, 3 if op == "LSTM" else 2))]
