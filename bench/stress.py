"""Stress: concurrency never crashes a run. Unchanged re-runs with --jobs 2, and batches with --parallel 2.

    .venv/bin/python bench/stress.py [--runs 20] [--batches 3] [--out bench/results/stress.md]

The bundled MobileFaceNet (built by `make example`) to onnx, tflite, openvino and ncnn with fp16, --jobs 2:
a cold run, then `--runs` unchanged re-runs (cached stages: only the stage keys are computed, in Prefect's
task threads at once: where the AST crash of flows/code.py was seen, 5 of 12 runs). Then `--batches`
batches of three copies of the model under three names with --parallel 2, each on a cold bundle cache.
A crash is a run whose exit code is not 0 or that printed a traceback; the table counts them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MODELFERRY = str(REPO / ".venv" / "bin" / "modelferry")
FACE = REPO / "examples" / "models" / "face"
from bench.scratch import emit, fresh_home  # noqa: E402

ARGS = [
    "--input-shape",
    "data:1,3,112,112",
    "--to",
    "onnx,tflite,openvino,ncnn",
    "--quantize",
    "fp16",
    "--jobs",
    "2",
    "--runtime",
    "venv",
]
CRASH_SIGNS = ("Traceback (most recent call last)", "SystemError", "recursion depth mismatch")


def crashed(done: subprocess.CompletedProcess) -> bool:
    return done.returncode != 0 or any(sign in done.stderr for sign in CRASH_SIGNS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not (FACE / "model-symbol.json").is_file():
        sys.exit("the bundled MobileFaceNet is not built: run `make example` first")
    scratch, env = fresh_home("stress")
    rows, failures = [], []
    try:
        subprocess.run([MODELFERRY, "server", "start"], env=env, check=True, capture_output=True)
        convert = [MODELFERRY, "convert", str(FACE / "model-symbol.json"), *ARGS, "--out", str(scratch / "out")]
        started = time.monotonic()
        cold = subprocess.run(convert, env=env, capture_output=True, text=True)
        rows.append(("cold run, --jobs 2", 1, int(crashed(cold)), time.monotonic() - started))
        failures += [cold.stderr[-2000:]] if crashed(cold) else []
        started, count = time.monotonic(), 0
        for _ in range(args.runs):
            done = subprocess.run(convert, env=env, capture_output=True, text=True)
            count += crashed(done)
            failures += [done.stderr[-2000:]] if crashed(done) else []
        rows.append(("unchanged re-runs, --jobs 2", args.runs, count, (time.monotonic() - started) / args.runs))
        entries = [
            {
                "source": str(FACE / "model-symbol.json"),
                "name": f"face-{i}",
                "input_shape": ["data:1,3,112,112"],
                "to": ["onnx", "tflite", "openvino", "ncnn"],
                "quantize": ["fp16"],
                "runtime": "venv",
            }
            for i in range(3)
        ]
        count, started = 0, time.monotonic()
        for batch in range(args.batches):
            shutil.rmtree(scratch / "home" / "bundles", ignore_errors=True)
            manifest = scratch / f"batch-{batch}.yaml"
            manifest.write_text(json.dumps({"out": str(scratch / f"batch-out-{batch}"), "models": entries}))
            done = subprocess.run(
                [MODELFERRY, "batch", str(manifest), "--parallel", "2"], env=env, capture_output=True, text=True
            )
            count += crashed(done)
            failures += [done.stderr[-2000:]] if crashed(done) else []
        rows.append(
            ("batches of 3, --parallel 2, cold cache", args.batches, count, (time.monotonic() - started) / args.batches)
        )
    finally:
        subprocess.run([MODELFERRY, "server", "stop"], env=env, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    lines = [
        "The bundled MobileFaceNet → onnx, tflite, openvino, ncnn (+fp16); venv runtime.",
        "",
        "| runs | count | crashed | seconds per run |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {n} | {c} | {s:.1f} |" for name, n, c, s in rows]
    emit("Stress: concurrency (bench/stress.py)", lines, args.out)
    for failure in failures:
        print("\n--- a crashed run's last lines:\n" + failure, file=sys.stderr)


if __name__ == "__main__":
    main()
