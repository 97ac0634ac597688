"""Runs inside the tf runtime for bench/conformance.py: ONNX node tests -> one samples .npz each.

    modelferry runtime exec tf -- python bench/conformance_inputs.py --where
    modelferry runtime exec tf -- python bench/conformance_inputs.py --tests a,b --out DIR

--where prints {"node_dir", "versions"} as JSON. Otherwise, per test: its test_data_set_0/input_K.pb
is the K-th graph input that is not an initializer; the arrays keep their dtype (a scalar stays
0-d) and go to DIR/<test>.npz keyed by input name, but for the inputs that ONNX's schema calls the op's
parameters (axes, pads, sizes …), which go to `bind` (passed as --bind); DIR/tests.json lists each test's ops
(node op_types), inputs (name, dtype, shape, whether the model's dims are static) and, where
the inputs cannot become an .npz (sequences, optionals), why it is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
from importlib import metadata
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

NODE_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"
VERSIONS = ("onnx", "onnxruntime", "onnx2tf", "tensorflow-cpu", "ai-edge-litert")


def _versions() -> dict[str, str]:
    found = {}
    for name in VERSIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    weights = {init.name for init in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in weights]


def _dims(value: onnx.ValueInfoProto) -> list[int | None]:
    return [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]


# What ONNX's op schemas call the inputs that are an op's parameters, not its data: a real model carries
# them as constants (its axes, pads, target sizes), and converters to TF need them so.
PARAMETERS = {
    "axes",
    "pads",
    "starts",
    "ends",
    "steps",
    "split",
    "shape",
    "sizes",
    "scales",
    "roi",
    "repeats",
    "k",
    "depth",
    "axis",
    "dft_length",
    "output_shape",
    "kernel_shape",
    "block_shape",
    "start",
    "limit",
    "delta",
    "frame_step",
    "frame_length",
    "window",
    "max_output_boxes_per_class",
    "image_shape",
}


def parameters(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> dict:
    """The graph inputs that feed a node input its schema calls a parameter (0-D or 1-D): name -> value."""
    from onnx import defs

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    found = {}
    for node in model.graph.node:
        try:
            formal = [i.name for i in defs.get_schema(node.op_type, opset, node.domain).inputs]
        except Exception:
            continue
        for position, name in enumerate(node.input):
            if (
                name in inputs
                and position < len(formal)
                and formal[position] in PARAMETERS
                and inputs[name].ndim <= 1
                and inputs[name].dtype.kind in "iuf"
            ):
                value = inputs[name]
                found[name] = value.tolist() if value.ndim else value.item()
    return found


def describe(test: str, out: Path) -> dict:
    """Write <out>/<test>.npz; return the test's entry for tests.json."""
    folder = NODE_DIR / test
    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    entry = {
        "name": test,
        "model": str(folder / "model.onnx"),
        "ops": list(dict.fromkeys(node.op_type for node in model.graph.node)),
        "inputs": [],
    }
    arrays = {}
    for k, value in enumerate(_graph_inputs(model)):
        kind = value.type.WhichOneof("value")
        if kind != "tensor_type":
            entry["skip"] = f"input {value.name!r} is a {kind.removesuffix('_type')}, not a tensor"
            return entry
        tensor = onnx.TensorProto()
        tensor.ParseFromString((folder / "test_data_set_0" / f"input_{k}.pb").read_bytes())
        array = numpy_helper.to_array(tensor)
        arrays[value.name] = array
        dims = _dims(value)
        entry["inputs"].append(
            {"name": value.name, "dtype": array.dtype.name, "shape": list(array.shape), "dims": dims}
        )
    entry["bind"] = parameters(model, arrays)
    path = out / f"{test}.npz"
    np.savez(path, **{name: array for name, array in arrays.items() if name not in entry["bind"]})
    np.savez(out / f"{test}-all.npz", **arrays)
    entry["samples"], entry["samples_all"] = str(path), str(out / f"{test}-all.npz")
    return entry


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--where", action="store_true", help="print the node tests' folder and tool versions")
    parser.add_argument("--tests", help="comma-separated test names")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.where:
        print(json.dumps({"node_dir": str(NODE_DIR), "versions": _versions()}))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    entries = []
    for test in args.tests.split(","):
        try:
            entries.append(describe(test, args.out))
        except Exception as exc:  # a test this script cannot read: say so, keep going
            entries.append(
                {
                    "name": test,
                    "ops": [],
                    "inputs": [],
                    "skip": f"inputs not readable: {type(exc).__name__}: {exc}".splitlines()[0],
                }
            )
    tmp = args.out / "tests.json.tmp"
    tmp.write_text(json.dumps(entries, indent=1))
    os.replace(tmp, args.out / "tests.json")


if __name__ == "__main__":
    main()
