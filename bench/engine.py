"""Benchmark: what Prefect and the CLI cost per conversion, with modelferry's server running.

    .venv/bin/python bench/engine.py [--repeat 3] [--out bench/results/engine.md]

The bundled MobileFaceNet → ONNX + TFLite (fp32, fp16), through the CLI as a user runs it, in a fresh
MODELFERRY_HOME (the runtimes' venvs shared) with its own server:
- a cold conversion one stage at a time (--jobs 1): wall time minus the stages' own time is the
  orchestration's overhead (goal ≤ 2 s);
- an unchanged re-run (goal ≤ 1.5 s in all: issue 22), through the resident engine beside the server
  (flows/resident/), and beside it the same re-run in its own process (MODELFERRY_RESIDENT=off);
- the same cold conversion with --jobs 2 (branches side by side);
- beside them, what each call paid before: Prefect's temporary server, started by an empty flow in a
  fresh process without PREFECT_API_URL, and `modelferry server start` once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.scratch import emit, fresh_home  # noqa: E402

BIN = REPO / ".venv" / "bin"
FACE = REPO / "examples" / "models" / "face"
EMPTY_FLOW = "from prefect import flow\n@flow\ndef hello():\n    return 1\nhello()\n"


def timed(argv: list[str], env: dict) -> float:
    started = time.monotonic()
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed: {done.stderr[-3000:]}")
    return time.monotonic() - started


def stage_seconds(out: Path) -> float:
    latest = json.loads((out / "face" / "latest.json").read_text())
    report = json.loads((out / latest["prefix"] / "report.json").read_text())
    return sum(s["seconds"] for s in report["stages"])


def engine_ready(env: dict, seconds: float = 120) -> float:
    """Wait for the resident engine `server start` started (flows/resident/); its own start-up seconds."""
    log = Path(env["MODELFERRY_HOME"]) / "server" / "engine.log"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        said = log.read_text() if log.is_file() else ""
        if " ready in " in said:
            return float(said.split(" ready in ")[-1].split("s")[0])
        time.sleep(0.2)
    raise SystemExit(f"no resident engine was ready within {seconds:.0f} s: {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the table here (markdown)")
    args = parser.parse_args()
    if not (FACE / "model-symbol.json").is_file():
        raise SystemExit("run `make example` first: it builds the bundled model")

    scratch, env = fresh_home("engine")
    modelferry = str(BIN / "modelferry")
    rows = []
    try:
        cold_start = timed([modelferry, "server", "start"], env)
        rows.append(("`modelferry server start` (once, fresh database)", cold_start, None, None, "—"))
        rows.append(("the resident engine ready, after the server (once)", engine_ready(env), None, None, "—"))
        temp = [
            timed([str(BIN / "python"), "-c", EMPTY_FLOW], {**env, "PREFECT_HOME": str(scratch / f"eph{i}")})
            for i in range(args.repeat)
        ]
        rows.append(
            ("Prefect's temporary server, empty flow (each call, before)", statistics.median(temp), None, None, "—")
        )

        convert = [
            modelferry,
            "convert",
            str(FACE / "model-symbol.json"),
            "--input-shape",
            "data:1,3,112,112",
            "--to",
            "onnx,tflite",
            "--quantize",
            "fp16",
            "--runtime",
            "venv",
        ]
        for jobs in (1, 2):
            walls, works = [], []
            for i in range(args.repeat):
                shutil.rmtree(scratch / "home" / "bundles", ignore_errors=True)
                out = scratch / f"out-{jobs}-{i}"
                walls.append(timed([*convert, "--out", str(out), "--jobs", str(jobs)], env))
                works.append(stage_seconds(out))
            wall, work = statistics.median(walls), statistics.median(works)
            rows.append(
                (
                    f"convert, cold cache, --jobs {jobs}",
                    wall,
                    work,
                    wall - work if jobs == 1 else None,
                    "overhead ≤ 2 s" if jobs == 1 else "—",
                )
            )
        again, here = [], []  # alternating: through the resident engine, and in the caller's own process
        for _ in range(args.repeat):
            again.append(timed([*convert, "--out", str(scratch / "out-1-0"), "--jobs", "1"], env))
            here.append(
                timed(
                    [*convert, "--out", str(scratch / "out-1-0"), "--jobs", "1"], {**env, "MODELFERRY_RESIDENT": "off"}
                )
            )
        rows.append(
            ("convert, unchanged re-run", statistics.median(again), 0.0, statistics.median(again), "≤ 1.5 s in all")
        )
        rows.append(
            (
                "convert, unchanged re-run in its own process (MODELFERRY_RESIDENT=off)",
                statistics.median(here),
                0.0,
                statistics.median(here),
                "—",
            )
        )
    finally:
        subprocess.run([modelferry, "server", "stop"], env=env, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)

    lines = [
        f"Median of {args.repeat} runs; MobileFaceNet (examples/models/face) → ONNX + TFLite fp32/fp16, venv "
        f"runtime, {os.cpu_count()} cores.",
        "",
        "| measurement | wall s | stages s | overhead s | goal |",
        "|---|---|---|---|---|",
    ]
    for name, wall, work, overhead, goal in rows:

        def fmt(v):
            return "—" if v is None else f"{v:.2f}"

        lines.append(f"| {name} | {fmt(wall)} | {fmt(work)} | {fmt(overhead)} | {goal} |")
    emit("Orchestration overhead (bench/engine.py)", lines, args.out)


if __name__ == "__main__":
    sys.exit(main())
