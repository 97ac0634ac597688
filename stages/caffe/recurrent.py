"""ONNX's LSTM as Caffe's LSTM layer, one per direction, and ONNX's GRU unrolled over its steps
(registered on the Caffe emitter's table).

Caffe's LSTM (BVLC 1.0) takes the sequence [T, N, I], a `cont` blob [T, N] (1: carry the state on; here
all ones, a Parameter blob) and, with expose_hidden, the initial state and cell [1, N, H] as blobs (zeros
or a constant as Parameter blobs, or the graph's own tensors, as silero's state), and gives the last state
and cell as blobs. Its weights are W_xc [4H, I] with the bias b_c [4H] and
W_hc [4H, H], gates in the order i, f, o, g (ONNX's is i, o, f, c): the gates are reordered and ONNX's two
biases summed. A reverse direction runs on the sequence reversed along time (BatchReindex of the time
rows) and is reversed back. Y is the directions' outputs stacked on axis 1; Y_h each direction's last
step and Y_c its last cell. Peepholes, clipping, other activations and sequence lengths are refused,
naming the node.

BVLC Caffe has no GRU layer: a GRU is unrolled, step by step, from layers it has. The input's projection
for every step at once (InnerProduct on axis 2, with the biases that add), sliced into steps and gates;
per step the state's projection (InnerProduct, its weights shared by name across the steps, so the net
holds them once), z and r by Sigmoid of sums, h~ by TanH (r applied after R's product with
linear_before_reset, to the state before it otherwise), and h = h~ + z * (h_prev - h~). The initial state
is taken as for the LSTM.
"""

from __future__ import annotations

import numpy as np

from stages.caffe.layers import LAYERS, Net
from stages.caffe.prototxt import Enum, Layer
from stages.onnx.emitter import Unsupported, attrs

GATES = [0, 2, 1, 3]  # ONNX's i, o, f, c blocks in Caffe's order i, f, o, g


@LAYERS.handles("LSTM")
def lstm(net: Net, node):
    a = attrs(node)
    where = f"LSTM node {node.name!r}"
    _plain(node, a, where)
    hidden, direction, steps, batch, weights, recurrence, bias, top = _recurrence(net, node, 4)
    directions = weights.shape[0]
    cont = net.add(
        node,
        "Parameter",
        [],
        {"parameter_param": {"shape": {"dim": [steps, batch]}}},
        [np.ones((steps, batch), np.float32)],
        top=f"{top}/cont",
    )
    starts = [
        _initial(net, node, index, directions, batch, hidden, f"{top}/{what}") for index, what in ((5, "h0"), (6, "c0"))
    ]
    backwards = None
    outputs, finals, cells = [], [], []
    for d in range(directions):
        reverse = direction == "reverse" or (direction == "bidirectional" and d == 1)
        sequence = node.input[0]
        if reverse:
            backwards = backwards or net.add(
                node,
                "Parameter",
                [],
                {"parameter_param": {"shape": {"dim": [steps]}}},
                [np.arange(steps - 1, -1, -1, dtype=np.float32)],
                top=f"{top}/backwards",
            )
            sequence = net.add(node, "BatchReindex", [sequence, backwards], top=f"{top}/reversed_{d}")
        made = [f"{top}/h_{d}", f"{top}/h_last_{d}", f"{top}/c_last_{d}"]
        net.add(
            node,
            "LSTM",
            [sequence, cont, starts[0][d], starts[1][d]],
            {"recurrent_param": {"num_output": hidden, "expose_hidden": True}},
            [
                _gates(weights[d], hidden),
                _gates(bias[d, : 4 * hidden] + bias[d, 4 * hidden :], hidden),
                _gates(recurrence[d], hidden),
            ],
            top=made[0],
        )
        net.layers[-1].top = made  # the sequence, then the last state and cell
        h = net.add(node, "BatchReindex", [made[0], backwards], top=f"{top}/h_{d}_in_order") if reverse else made[0]
        outputs.append(h)
        finals.append(made[1])
        cells.append(made[2])
    if node.output[0]:
        stacked = [
            net.add(
                node,
                "Reshape",
                [h],
                {"reshape_param": {"shape": {"dim": [steps, 1, batch, hidden]}}},
                top=f"{h}/stacked",
            )
            for h in outputs
        ]
        net.shapes.setdefault(node.output[0], [steps, directions, batch, hidden])
        _join(net, node, stacked, 1, node.output[0])
    for index, last in ((1, finals), (2, cells)):
        if len(node.output) > index and node.output[index]:
            net.shapes.setdefault(node.output[index], [directions, batch, hidden])
            _join(net, node, last, 0, node.output[index])
    return top


def _recurrence(net: Net, node, gates: int) -> tuple:
    """An LSTM's (4 gates) or GRU's (3) shared facts: hidden size, direction, steps, batch, W, R, B (zeros
    where absent: both biases, 2 x gates x hidden) and the name its outputs start from."""
    a = attrs(node)
    hidden = int(a["hidden_size"])
    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    shape = net.shape(node.input[0])
    if not shape or len(shape) != 3 or not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"{node.op_type} node {node.name!r}: its input is not a static [T, N, I] sequence")
    weights, recurrence = (net.constant(node.input[i], node, what) for i, what in ((1, "W"), (2, "R")))
    bias = (
        net.constant(node.input[3], node, "B")
        if len(node.input) > 3 and node.input[3]
        else np.zeros((weights.shape[0], 2 * gates * hidden), np.float32)
    )
    return hidden, direction, shape[0], shape[1], weights, recurrence, bias, node.output[0] or f"{node.name}/Y"


def _initial(net: Net, node, index: int, directions: int, batch: int, hidden: int, top: str) -> list[str]:
    """Each direction's initial state [1, N, H] as a blob: ONNX's input `index` (initial_h, initial_c) split
    by direction, a Parameter blob where it is a constant, zeros where it is absent."""
    name = node.input[index] if len(node.input) > index and node.input[index] else None
    if name is None or name in net.constants:
        value = net.constants[name] if name else np.zeros((directions, batch, hidden), np.float32)
        return [
            net.add(
                node,
                "Parameter",
                [],
                {"parameter_param": {"shape": {"dim": [1, batch, hidden]}}},
                [np.asarray(value[d : d + 1], np.float32)],
                top=f"{top}_{d}",
            )
            for d in range(directions)
        ]
    if directions == 1:
        return [name]
    parts = [f"{top}_{d}" for d in range(directions)]
    net.layers.append(
        Layer(
            f"{top}/split",
            "Slice",
            [net.name(name)],
            parts,
            {"slice_param": {"axis": 0, "slice_point": list(range(1, directions))}},
        )
    )
    return parts


def _plain(node, a: dict, where: str) -> None:
    if a.get("layout", 0) or a.get("clip") is not None or a.get("input_forget", 0):
        raise Unsupported(f"{where}: layout, clip or input_forget; Caffe's LSTM has none")
    if a.get("activations") not in (None, [b"Sigmoid", b"Tanh", b"Tanh"] * 2, [b"Sigmoid", b"Tanh", b"Tanh"]):
        raise Unsupported(f"{where}: activations {a['activations']}; Caffe's LSTM has sigmoid and tanh only")
    if len(node.input) > 4 and node.input[4]:
        raise Unsupported(f"{where}: sequence lengths; Caffe's LSTM runs every step")
    if len(node.input) > 7 and node.input[7]:
        raise Unsupported(f"{where}: peepholes; Caffe's LSTM has none")


def _gates(value: np.ndarray, hidden: int) -> np.ndarray:
    blocks = value.reshape(4, hidden, *value.shape[1:])
    return np.ascontiguousarray(blocks[GATES].reshape(value.shape))


def _join(net: Net, node, parts: list[str], axis: int, top: str) -> str:
    if len(parts) == 1:
        return net.add(node, "Reshape", parts, {"reshape_param": {"shape": {"dim": net.shapes[top]}}}, top=top)
    return net.add(node, "Concat", parts, {"concat_param": {"axis": axis}}, top=top)


@LAYERS.handles("GRU")
def gru(net: Net, node):
    a = attrs(node)
    where = f"GRU node {node.name!r}"
    if (
        a.get("layout", 0)
        or a.get("clip") is not None
        or (len(node.input) > 4 and node.input[4])
        or a.get("activations") not in (None, [b"Sigmoid", b"Tanh"], [b"Sigmoid", b"Tanh"] * 2)
    ):
        raise Unsupported(
            f"{where}: layout, clip, sequence lengths or other activations; Caffe's composition is ONNX's default GRU"
        )
    reset_after = bool(a.get("linear_before_reset", 0))
    hidden, direction, steps, batch, weights, recurrence, bias, top = _recurrence(net, node, 3)
    directions = weights.shape[0]
    initial = _initial(net, node, 5, directions, batch, hidden, f"{top}/h0")
    outputs = []
    for d in range(directions):
        reverse = direction == "reverse" or (direction == "bidirectional" and d == 1)
        outputs.append(
            _gru_direction(
                net,
                node,
                f"{top}/d{d}",
                node.input[0],
                steps,
                batch,
                hidden,
                reverse,
                weights[d],
                recurrence[d],
                bias[d],
                initial[d],
                reset_after,
            )
        )
    if node.output[0]:
        stacked = [
            net.add(
                node,
                "Reshape",
                [hs],
                {"reshape_param": {"shape": {"dim": [steps, 1, batch, hidden]}}},
                top=f"{hs}/stacked",
            )
            for hs, _ in outputs
        ]
        net.shapes.setdefault(node.output[0], [steps, directions, batch, hidden])
        _join(net, node, stacked, 1, node.output[0])
    if len(node.output) > 1 and node.output[1]:
        net.shapes.setdefault(node.output[1], [directions, batch, hidden])
        _join(net, node, [last for _, last in outputs], 0, node.output[1])
    return top


def _gru_direction(
    net: Net,
    node,
    name: str,
    sequence: str,
    steps: int,
    batch: int,
    hidden: int,
    reverse: bool,
    w,
    r,
    b,
    h0,
    reset_after: bool,
) -> tuple[str, str]:
    """One direction from the state `h0` (a blob [1, N, H]): (its outputs [T, N, H] in time order, its last
    state [1, N, H])."""
    add = net.add
    x_bias = b[: 3 * hidden] + np.concatenate(
        [b[3 * hidden : 5 * hidden], np.zeros(hidden) if reset_after else b[5 * hidden :]]
    )
    projected = add(
        node,
        "InnerProduct",
        [sequence],
        {"inner_product_param": {"num_output": 3 * hidden, "bias_term": True, "axis": 2}},
        [w, x_bias],
        top=f"{name}/x",
    )
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    if steps > 1:
        sliced = [f"{name}/x{t}" for t in range(steps)]
        net.layers.append(_slice(projected, sliced, 0, list(range(1, steps))))
    else:
        sliced = [projected]
    state = h0
    shared = {"zr": f"{name}/R_zr", "h": f"{name}/R_h"}
    made = {}
    for count, t in enumerate(order):
        step = f"{name}/t{t}"
        gates = [f"{step}/xz", f"{step}/xr", f"{step}/xh"]
        net.layers.append(_slice(sliced[t], gates, 2, [hidden, 2 * hidden]))
        xz, xr, xh = gates
        first = count == 0
        if reset_after:  # R's product of the state, its h part's bias included, before r
            blobs = [r, b[3 * hidden :] * np.r_[np.zeros(2 * hidden), np.ones(hidden)]] if first else []
            recurrent = add(
                node,
                "InnerProduct",
                [state],
                {
                    "inner_product_param": {"num_output": 3 * hidden, "bias_term": True, "axis": 2},
                    "param": [{"name": shared["zr"]}, {"name": f"{shared['zr']}_b"}],
                },
                blobs,
                top=f"{step}/h_projected",
            )
            parts = [f"{step}/hz", f"{step}/hr", f"{step}/hh"]
            net.layers.append(_slice(recurrent, parts, 2, [hidden, 2 * hidden]))
            hz, hr, hh = parts
        else:
            recurrent = add(
                node,
                "InnerProduct",
                [state],
                {
                    "inner_product_param": {"num_output": 2 * hidden, "bias_term": False, "axis": 2},
                    "param": [{"name": shared["zr"]}],
                },
                [r[: 2 * hidden]] if first else [],
                top=f"{step}/h_projected",
            )
            parts = [f"{step}/hz", f"{step}/hr"]
            net.layers.append(_slice(recurrent, parts, 2, [hidden]))
            hz, hr = parts
        z = add(
            node,
            "Sigmoid",
            [add(node, "Eltwise", [xz, hz], {"eltwise_param": {"operation": Enum("SUM")}}, top=f"{step}/z_sum")],
            top=f"{step}/z",
        )
        r_gate = add(
            node,
            "Sigmoid",
            [add(node, "Eltwise", [xr, hr], {"eltwise_param": {"operation": Enum("SUM")}}, top=f"{step}/r_sum")],
            top=f"{step}/r",
        )
        if reset_after:
            reset = add(
                node, "Eltwise", [r_gate, hh], {"eltwise_param": {"operation": Enum("PROD")}}, top=f"{step}/r_hh"
            )
        else:
            gated = add(
                node, "Eltwise", [r_gate, state], {"eltwise_param": {"operation": Enum("PROD")}}, top=f"{step}/r_state"
            )
            reset = add(
                node,
                "InnerProduct",
                [gated],
                {
                    "inner_product_param": {"num_output": hidden, "bias_term": False, "axis": 2},
                    "param": [{"name": shared["h"]}],
                },
                [r[2 * hidden :]] if first else [],
                top=f"{step}/r_hh",
            )
        candidate = add(
            node,
            "TanH",
            [add(node, "Eltwise", [xh, reset], {"eltwise_param": {"operation": Enum("SUM")}}, top=f"{step}/h_sum")],
            top=f"{step}/h_candidate",
        )
        kept = add(
            node,
            "Eltwise",
            [state, candidate],
            {"eltwise_param": {"operation": Enum("SUM"), "coeff": [1.0, -1.0]}},
            top=f"{step}/h_kept",
        )
        moved = add(node, "Eltwise", [z, kept], {"eltwise_param": {"operation": Enum("PROD")}}, top=f"{step}/z_kept")
        state = add(node, "Eltwise", [candidate, moved], {"eltwise_param": {"operation": Enum("SUM")}}, top=f"{step}/h")
        made[t] = state
    ordered = [made[t] for t in range(steps)]
    outputs = (
        ordered[0] if steps == 1 else add(node, "Concat", ordered, {"concat_param": {"axis": 0}}, top=f"{name}/h_all")
    )
    return outputs, state


def _slice(bottom: str, tops: list[str], axis: int, points: list[int]) -> Layer:
    return Layer(f"{tops[0]}/slice", "Slice", [bottom], tops, {"slice_param": {"axis": axis, "slice_point": points}})
