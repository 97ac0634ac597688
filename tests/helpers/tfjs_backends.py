"""Run in the tfjs runtime: a TFJS graph model (its folder, or its .json file by any name) on @tensorflow/tfjs's
wasm backend and on its pure-JS CPU backend, on the same random inputs; prints the backend each ran on, the
seconds each took for the runs, and the largest difference between them next to the outputs' largest value."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from stages.tfjs.graph import MODEL_JSON, read_model_json
from stages.tfjs.node import NodeGraphModel

folder = Path(sys.argv[1])
if folder.is_file() and folder.name != MODEL_JSON:  # a .json by another name: the folder seen as model.json's
    linked = Path(tempfile.mkdtemp(prefix="tfjs-backends-"))
    for entry in folder.parent.iterdir():
        (linked / (MODEL_JSON if entry == folder else entry.name)).symlink_to(entry)
    folder = linked
elif folder.is_file():
    folder = folder.parent
graph = read_model_json(folder)
rng = np.random.default_rng(0)
runs = [
    {
        name: rng.random([1 if d in (-1, None) else d for d in spec.shape]).astype(np.float32)
        for name, spec in graph.inputs.items()
    }
    for _ in range(4)
]
results, seconds, used = {}, {}, {}
for backend in ("wasm", "cpu"):
    model = NodeGraphModel(folder, backend=backend)
    start = time.perf_counter()
    results[backend] = model.run_many(runs)
    seconds[backend], used[backend] = time.perf_counter() - start, model.backend
err = max(float(np.abs(w[k] - c[k]).max()) for w, c in zip(results["wasm"], results["cpu"], strict=True) for k in c)
top = max(float(np.abs(c[k]).max()) for c in results["cpu"] for k in c)
print(
    f"wasm ran on {used['wasm']} in {seconds['wasm']:.2f}s, cpu on {used['cpu']} in {seconds['cpu']:.2f}s; "
    f"max abs diff {err:.2e} of max {top:.3g}"
)
