"""diagnose/<format>: where an artifact that missed its gate first leaves the ONNX graph it came from.

Inputs: the artifact's bundle, then the ONNX bundle of its route (the reference). Both run on the
first run of the samples; stages/diagnose/locate.py names the first diverging layer. Run only for an
artifact that missed its gate, so it costs nothing on the way to a passing one."""

from __future__ import annotations

import json

import numpy as np

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.diagnose import capture, reference
from stages.diagnose.locate import locate
from stages.validate.runners import target_feeds

TOOLS = ("onnxruntime", "ai-edge-litert", "tensorflow-cpu", "numpy")


def run(ctx: StageContext) -> dict:
    artifact, graph = ctx.inputs[0], ctx.inputs[1]
    raw = samples_lib.load_npz(artifact.file("samples"), "samples")
    feeds = samples_lib.apply_preprocess(raw, artifact.manifest.get("preprocess"))
    first = next(feeding.runs(feeds, artifact.manifest["inputs"], batched=False))
    nodes, expected = reference.tensors(graph.file("model"), target_feeds(graph, first))
    got = capture.run(artifact, target_feeds(artifact, first))
    outputs = [spec["name"] for spec in graph.manifest["outputs"]]
    divergence = locate(nodes, expected, got, outputs, artifact.manifest.get("precision", "fp32"))
    # strict JSON: an error that could not be measured (no tensor of the artifact has the size) is null
    divergence = {
        k: (float(v) if np.isfinite(v) else None) if isinstance(v, (float, np.floating)) else v
        for k, v in divergence.items()
    }
    (ctx.out / "divergence.json").write_text(json.dumps(divergence, indent=2))
    return {"format": "divergence", "files": {"divergence": "divergence.json"}, "metrics": {"divergence": divergence}}
