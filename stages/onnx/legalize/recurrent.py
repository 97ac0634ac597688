"""LSTM, GRU and RNN nodes in the form pnnx (ncnn) makes its recurrent layers of, the same function:

- W, R and B as initializers: torch.export writes W and R as an Unsqueeze of a Concat of the per-gate
  weights, which pnnx leaves as MemoryData feeding an ONNX LSTM that ncnn cannot load;
- an initial state of zeros left out (ONNX's default);
- the output Y read through a Squeeze of its direction axis, and the last hidden state Y_h as that
  sequence's last step: pnnx matches a recurrent node only when Y is read so, and an LSTM only with its
  Y_c too (torch.export writes Y and Y_h; a GRU's Y may be unread). Where sequence_lens is given, or the
  node runs backward or both ways, or batch first, Y_h is not Y's last step, and the outputs stay.
"""

from __future__ import annotations

import numpy as np

from stages.onnx.legalize.graph import Graph

RECURRENT = ("LSTM", "GRU", "RNN")
WEIGHTS = {1: "W", 2: "R", 3: "B"}
STATES = {"LSTM": (5, 6), "GRU": (5,), "RNN": (5,)}  # initial_h (and initial_c)
END = np.iinfo(np.int64).max


def run(graph: Graph) -> int:
    kinds = [n for n in graph.graph.node if n.op_type in RECURRENT and n.domain in ("", "ai.onnx")]
    values = graph.folded() if kinds else {}
    count = 0
    for made in [next(name for name in n.output if name) for n in kinds]:
        node = graph.producer[made]  # found again: a rewrite of the one before rebuilds the node list
        changed = _weights(graph, node, values) | _states(node, values)
        if changed:
            graph.index()
        count += _outputs(graph, node) or changed
    if count:
        graph.drop_unread()
    return count


def _weights(graph: Graph, node, values) -> bool:
    changed = False
    for index, label in WEIGHTS.items():
        name = node.input[index] if index < len(node.input) else ""
        if name and name not in graph.constants.protos and values.get(name) is not None:
            node.input[index] = graph.constant(f"{node.name or node.output[0]}/{label}", values[name], None)
            changed = True
    return changed


def _states(node, values) -> bool:
    changed = False
    for index in STATES[node.op_type]:
        name = node.input[index] if index < len(node.input) else ""
        value = values.get(name) if name else None
        if value is not None and not np.any(value):
            node.input[index] = ""
            changed = True
    while node.input and not node.input[-1]:
        node.input.pop()
    return changed


def _outputs(graph: Graph, node) -> bool:
    """Y through Squeeze(axis 1) and Y_h as its last step, for a forward node over the whole sequence (Y_c,
    an LSTM's cell state, unread); False where the node is already so or cannot be."""
    from onnx import helper

    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    y, y_h, y_c = (list(node.output) + ["", ""])[:3]
    read = {name for name in (y, y_h, y_c) if name and (graph.consumers.get(name) or name in graph.outputs)}
    if (
        attributes.get("direction", b"forward") != b"forward"
        or attributes.get("layout", 0)
        or (len(node.input) > 4 and node.input[4])
        or y_c in read
        or not read
    ):
        return False
    if (
        read == {y}
        and y not in graph.outputs
        and all(r.op_type in ("Squeeze", "Transpose") for r in graph.consumers[y])
    ):
        return False  # the form pnnx takes already
    base = node.name or y
    every, sequence = graph.unused(f"{base}/Y_every"), graph.unused(f"{base}/sequence")
    axis, attribute = graph.axes(f"{base}/direction_axis", [1])
    made = [
        helper.make_node(node.op_type, list(node.input), [every], name=node.name, domain=node.domain),
        helper.make_node("Squeeze", [every, *axis], [sequence], name=f"{base}/squeeze", **attribute),
    ]
    made[0].attribute.extend(node.attribute)
    if y in read:
        made.append(helper.make_node("Unsqueeze", [sequence, *axis], [y], name=f"{base}/Y", **attribute))
    if y_h in read:
        last = [
            graph.constant(f"{base}/{label}", [value], np.int64)
            for label, value in (("last", -1), ("end", END), ("time_axis", 0))
        ]
        made.append(helper.make_node("Slice", [sequence, *last], [y_h], name=f"{base}/Y_h"))
    graph.replace([node], made)
    return True
