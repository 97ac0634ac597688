"""One step of an LSTM with its state in and out, as streaming models run it (a voice-activity detector, a
wake-word model: x [1, 1, I], initial_h and initial_c read from the model's inputs, Y_h and Y_c its
outputs, Y unread). pnnx matches an ONNX LSTM only when its Y is read, and leaves this one as ONNX's LSTM
(its weights as MemoryData layers), which ncnn cannot load. modelferry writes it as ncnn's LSTM layer of
three inputs and three outputs:

- the param line `LSTM name 3 3 x h0 c0 y h c 0=H 1=4H·I 2=direction 3=H`, in the place of pnnx's;
- its weights in the .bin as ncnn's LSTM reads them, each behind a 4-byte flag 0 (raw float32): W, the
  bias (ONNX's Wb + Rb) and R, their gates reordered from ONNX's i, o, f, c to ncnn's i, f, o, g; written
  where the MemoryData layers held W, R and B, which are dropped (the layers between them and the LSTM
  hold no weights, so the loader reads the same bytes in the same order).

Only where every blob's layout is what ncnn's LSTM takes: one direction, a sequence of one step (pnnx
takes the first axis of x and of the states for a batch), Y unread, ONNX's default activations. Otherwise
the layer stays, and ncnn's loader refuses it by name (stages/ncnn/model.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.ncnn.files import BIN, PARAM, Layer, parse

WEIGHTLESS = {
    "Input",
    "Reshape",
    "ExpandDims",
    "Squeeze",
    "Split",
    "Permute",
    "Noop",
    "Crop",
    "Flatten",
    "Concat",
    "Slice",
}
DIRECTIONS = {b"forward": 0, b"reverse": 1}
IFOG = (0, 2, 1, 3)  # ncnn's gate order, as indices into ONNX's i, o, f, c
DEFAULTS = {"layout": 0, "input_forget": 0}  # any other value, or a clip or activations, is not ncnn's LSTM


def rewrite(folder: Path, model, inputs: list[dict], ignored: list[str]) -> tuple[list[str], int]:
    """The left ONNX LSTM layers of folder's files that are one step with its state, rewritten as above
    (`model`: the ONNX graph pnnx converted, `inputs`: the specs it was converted at); returns pnnx's ignore
    lines without theirs, and how many were rewritten."""
    lines = (folder / PARAM).read_text().splitlines()
    found: list[Layer | None] = [parse(line) for line in lines]
    left = [
        i for i, layer in enumerate(found) if i >= 2 and layer and layer.kind == "LSTM" and not layer.params
    ]  # ncnn's own LSTM has its params
    if not left:
        return ignored, 0
    from stages.onnx.static import shapes as static_shapes

    shapes = static_shapes(model, inputs)
    data = (folder / BIN).read_bytes()
    done = []
    for index in left:
        plan = _plan(found, index, model, shapes, data)
        if plan is None:
            continue
        node, memory, (start, end) = plan
        packed, hidden, size = _weights(node, model)
        data = data[:start] + packed + data[end:]
        layer = found[index]
        direction = DIRECTIONS[_attributes(node).get("direction", b"forward")]
        states = [
            b
            for b, name in zip(layer.bottoms, [n for n in node.input if n], strict=False)
            if not _is_weight(model, name)
        ]
        made = dict(
            zip([i for i, name in enumerate(node.output) if name], layer.tops, strict=False)
        )  # pnnx drops unnamed ones
        tops = [made.get(i, f"{layer.name}_{label}") for i, label in enumerate(("y", "h", "c"))]
        found[index] = Layer(
            "LSTM", layer.name, states, tops, [f"0={hidden}", f"1={size}", f"2={direction}", f"3={hidden}"]
        )
        lines[index] = found[index].line()
        for gone in memory:
            found[gone] = None
        done.append(layer.name)
    if not done:
        return ignored, 0
    kept = [line for line, layer in zip(lines[2:], found[2:], strict=True) if layer]
    blobs = {blob for layer in found[2:] if layer for blob in (*layer.bottoms, *layer.tops)}
    (folder / PARAM).write_text("\n".join([lines[0], f"{len(kept)} {len(blobs)}", *kept]) + "\n")
    (folder / BIN).write_bytes(data)
    rewritten = {("LSTM", name) for name in done}
    return [line for line in ignored if tuple(line.split()[1:3]) not in rewritten], len(done)


def _attributes(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _is_weight(model, name: str) -> bool:
    return any(init.name == name for init in model.graph.initializer)


def _plan(found: list, index: int, model, shapes: dict, data: bytes):
    """(the ONNX node, the MemoryData lines holding W, R and B, their byte range in the .bin), or None where
    the layer is not one step of one direction with its state and Y unread, or its weights cannot be found.
    `found`: the param file's layers by line (None: not a layer)."""
    layer = found[index]
    makers = {top: i for i, other in enumerate(found[:index]) if other for top in other.tops}
    memory = sorted(makers[b] for b in layer.bottoms if b in makers and found[makers[b]].kind == "MemoryData")
    names = {found[i].name for i in memory}
    node = next((n for n in model.graph.node if n.op_type == "LSTM" and n.input[1] in names), None)
    named = [i for i, name in enumerate(node.output) if name] if node is not None else []
    if (
        node is None
        or len(named) != len(layer.tops)
        or not set(named) <= {0, 1, 2}
        or (0 in named and _read_after(found, index, layer.tops[0]))
    ):
        return None
    a = _attributes(node)
    steps = (shapes.get(node.input[0]) or [None])[0]
    if (
        a.get("direction", b"forward") not in DIRECTIONS
        or steps != 1
        or (len(node.input) > 4 and node.input[4])
        or any(a.get(key, value) != value for key, value in DEFAULTS.items())
        or "clip" in a
        or "activations" in a
        or len([n for n in node.input if n]) - len(memory) != 3
    ):
        return None
    between = [found[i] for i in range(memory[0], index) if i not in memory and found[i]]
    if any(other.kind not in WEIGHTLESS for other in between) or any(
        _read_after(found, i, found[i].tops[0]) != [index] for i in memory
    ):
        return None
    from onnx import numpy_helper

    by_name = {init.name: init for init in model.graph.initializer}
    if any(found[i].name not in by_name for i in memory):  # a MemoryData pnnx named otherwise
        return None
    raw = b"".join(
        np.ascontiguousarray(numpy_helper.to_array(by_name[found[i].name]), np.float32).tobytes() for i in memory
    )
    start = data.find(raw)
    if start < 0 or data.find(raw, start + 1) >= 0:  # the weights must be where pnnx wrote them, once
        return None
    return node, memory, (start, start + len(raw))


def _weights(node, model) -> tuple[bytes, int, int]:
    """The LSTM's weights as ncnn reads them, its hidden size and its weight_data_size."""
    from onnx import numpy_helper

    by_name = {init.name: init for init in model.graph.initializer}
    hidden = _attributes(node)["hidden_size"]
    w, r = (numpy_helper.to_array(by_name[node.input[i]])[0] for i in (1, 2))
    b = (
        numpy_helper.to_array(by_name[node.input[3]])[0]
        if len(node.input) > 3 and node.input[3]
        else np.zeros(8 * hidden, np.float32)
    )

    def gates(m: np.ndarray) -> np.ndarray:
        return np.concatenate([np.split(m, 4)[g] for g in IFOG])

    flag = np.zeros(1, np.uint32).tobytes()  # raw float32
    parts = (gates(w), gates(b[: 4 * hidden] + b[4 * hidden :]), gates(r))
    return b"".join(flag + np.ascontiguousarray(p, np.float32).tobytes() for p in parts), hidden, w.size


def _read_after(found: list, index: int, blob: str) -> list[int]:
    """The lines after `index` whose layer reads `blob`."""
    return [i for i in range(index + 1, len(found)) if found[i] and blob in found[i].bottoms]
