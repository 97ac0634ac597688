"""Run a TFJS graph model in Node.js (@tensorflow/tfjs on its wasm backend, else the pure-JS CPU one) from
Python: one Node.js process for every run of the samples (the model loads once).

The runtime provides `node` on PATH and @tensorflow/tfjs on NODE_PATH; run.js
beside this file loads model.json and its weight shards from disk and runs
the graph. Tensors cross as raw little-endian files named in a JSON request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from stages import feeding
from stages.errors import StageError
from stages.tfjs.graph import MODEL_JSON, TensorSpec, read_model_json

RUN_JS = Path(__file__).with_name("run.js")
DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
TIMEOUT_S = 900
# A source input's dtype -> what @tensorflow/tfjs computes it in (it has no uint8 tensors: int32 holds them).
NODE_DTYPES = {"float32": "float32", "int32": "int32", "uint8": "int32", "bool": "bool"}


def fed(inputs: list[dict], name: str) -> dict[str, TensorSpec]:
    """What Node.js is fed for each of a source's inputs (by its name), refusing a dtype TFJS has no tensor for."""
    unfed = [spec for spec in inputs if spec["dtype"] not in NODE_DTYPES]
    if unfed:
        raise StageError(
            f"input {unfed[0]['name']!r} of {name} is {unfed[0]['dtype']}, which @tensorflow/tfjs "
            f"cannot take (it takes {', '.join(NODE_DTYPES)})"
        )
    return {spec["source_name"]: TensorSpec(spec["source_name"], NODE_DTYPES[spec["dtype"]], None) for spec in inputs}


def outputs_of(
    node: "NodeGraphModel", feeds: dict[str, np.ndarray], inputs: list[dict], batched: bool
) -> dict[str, np.ndarray]:
    """The model's outputs on every sample, from one Node.js process (a batch per call where it takes one)."""
    runs = list(feeding.runs(feeds, inputs, batched))
    outputs = iter(node.run_many(runs))
    return feeding.run_all(lambda _: next(outputs), feeds, inputs, batched)


class NodeGraphModel:
    """Callable like the other runners' models: {input name: array} -> {output name: array}."""

    def __init__(
        self,
        model_dir: Path,
        inputs: dict[str, TensorSpec] | None = None,
        outputs: list[str] | None = None,
        model_json: str = MODEL_JSON,
        layers: bool = False,
        shown: str | None = None,
        backend: str = "wasm",
    ):
        """`inputs`/`outputs`: the graph's nodes to feed and fetch, where model.json's signature does not
        say (a source's model.json, named as its user named it: `model_json`). `layers`: a layers model
        (tf.loadLayersModel), fed and fetched by its input and output layers' names. `shown`: the model's
        name in errors (default: its folder and model.json). `backend`: "wasm" (the CPU backend where it
        lacks a kernel) or "cpu"."""
        self.model_dir, self.model_json, self.layers = model_dir, model_json, layers
        self.shown = shown or f"{model_dir.name}/{model_json}"
        self.node = shutil.which("node")
        if not self.node:
            raise StageError(f"{model_dir.name} runs in Node.js, but this runtime has no `node` on PATH")
        if inputs is None or outputs is None:
            model = read_model_json(model_dir)
            inputs, outputs = model.inputs, list(model.outputs)
        self.inputs, self.outputs = inputs, list(outputs)
        self.asked = backend
        self.backend = ""  # the backend the last run ran on: "wasm", or "cpu" where wasm lacks a kernel
        self.profiled: dict | None = None  # the last run_many's timing ({"times_ms", "threads"}), if asked
        self.peak_rss_mb: float | None = None

    @property
    def dynamic_batch(self) -> bool:
        return all(spec.shape and spec.shape[0] == -1 for spec in self.inputs.values())

    def __call__(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.run_many([feeds])[0]

    def run_many(self, runs: list[dict[str, np.ndarray]], profile: dict | None = None) -> list[dict[str, np.ndarray]]:
        """Each run's outputs, from one Node.js process. `profile` ({"run": feeds, "runs", "min_runs",
        "budget_ms"}): that run is then timed there too (`profiled`, `peak_rss_mb`)."""
        with tempfile.TemporaryDirectory(prefix="modelferry-tfjs-") as tmp:
            work = Path(tmp)
            request = {
                "model": str(self.model_dir),
                "json": self.model_json,
                "out": str(work),
                "outputs": self.outputs,
                "layers": self.layers,
                "backend": self.asked,
                "runs": [self._written(work, str(run), feeds) for run, feeds in enumerate(runs)],
            }
            if profile:
                request["profile"] = {**profile, "run": self._written(work, "profile", profile["run"])}
            (work / "request.json").write_text(json.dumps(request))
            self._run(work / "request.json")
            done = json.loads((work / "outputs.json").read_text())
            self.backend, written = done["backend"], done["runs"]
            self.profiled, self.peak_rss_mb = done.get("profile"), done.get("peak_rss_mb")
            return [
                {
                    name: np.fromfile(work / spec["file"], dtype=DTYPES[spec["dtype"]]).reshape(spec["shape"])
                    for name, spec in outputs.items()
                }
                for outputs in written
            ]

    def _written(self, work: Path, run: str, feeds: dict[str, np.ndarray]) -> dict[str, dict]:
        """One run's inputs as files in `work`, described as run.js reads them."""
        specs = {}
        for index, (name, value) in enumerate(feeds.items()):
            dtype = self.inputs[name].dtype
            file = f"in{run}_{index}.bin"
            np.ascontiguousarray(value, dtype=np.dtype(DTYPES[dtype]).newbyteorder("<")).tofile(work / file)
            specs[name] = {"file": file, "dtype": dtype, "shape": list(value.shape)}
        return specs

    def _run(self, request: Path) -> None:
        try:
            done = subprocess.run(
                [self.node, str(RUN_JS), str(request)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise StageError(f"{self.shown} did not finish in Node.js within {TIMEOUT_S}s") from None
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            reasons = [line[len("error: ") :] for line in lines if line.startswith("error: ")]
            reason = reasons[-1] if reasons else (lines[-1] if lines else f"node exited with {done.returncode}")
            raise StageError(f"{self.shown} does not run in Node.js (@tensorflow/tfjs): {reason}")
