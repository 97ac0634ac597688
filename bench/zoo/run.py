"""Benchmark: every zoo model (real trained models from PyPI wheels) to every target.

    make bench-zoo ZOO_ARGS="--write"
    .venv/bin/python -m bench.zoo.run [--models rapidocr-cls,silero-vad] [--targets tflite,onnx]
                                      [--runtime venv] [--timeout 1800] [--write | --out FILE]

One `modelferry convert` per model x target (the load and export stages are
cached, so a model's later targets reuse them), with the options a user would
give so that the samples fit the model (bench/zoo/catalog.py). Prints a
table: model, target, verdict (published, gate failed, stage failed), the
route of stages, the parity of the fp32 artifact, seconds, and the one-line
reason when it did not publish.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.zoo import fetch
from bench.zoo.catalog import BY_NAME, MODELS, ZooModel

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".venv" / "bin" / "modelferry"
RESULTS = REPO / "bench" / "results" / "zoo.md"
ERROR = re.compile(r"^error: (?P<reason>\[(?P<stage>[^\]]+)\].*)$", re.M)


@dataclass
class Row:
    model: str
    target: str
    verdict: str
    route: str = ""
    parity: str = ""
    seconds: float = 0.0
    reason: str = ""


def _parity(artifact: dict) -> str:
    parity = artifact["parity"]
    floor = f", floor {parity['noise_floor']:.1e}" if parity.get("noise_floor") else ""
    error = "–" if parity["max_abs_err"] >= 1e300 else f"{parity['max_abs_err']:.1e}"   # 1e300: not measurable
    return f"max abs {error}, cos {parity['cosine']:.6f}{floor}"


def convert(model: ZooModel, target: str, runtime: str, timeout: float, out: Path) -> Row:
    argv = [str(CLI), "convert", str(fetch.source(model, download=False)), "--to", target, *model.options,
            "--out", str(out), "--runtime", runtime]
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Row(model.name, target, "timeout", seconds=timeout, reason=f"no result within {timeout:.0f} s")
    seconds = time.monotonic() - started
    reports = sorted(out.glob(f"*/*/report.json"), key=lambda p: p.stat().st_mtime)
    if done.returncode == 2 or not reports and not ERROR.search(done.stderr):
        tail = [line for line in done.stderr.splitlines() if line.strip()][-1:] or ["no output"]
        return Row(model.name, target, "usage" if done.returncode == 2 else "crashed", seconds=seconds,
                   reason=tail[0][:200])
    if not reports:
        error = ERROR.search(done.stderr)
        return Row(model.name, target, f"stage failed", route=error["stage"], seconds=seconds,
                   reason=error["reason"][:200])
    report = json.loads(reports[-1].read_text())
    route = " → ".join(f"{s['stage']}/{s['impl']}" for s in report["stages"] if s["stage"] not in ("validate",)
                       and not s["label"])
    fp32 = next((a for a in report["artifacts"] if a["precision"] == "fp32"), report["artifacts"][0])
    verdict = "published" if fp32["published"] else "gate failed"
    reason = "" if fp32["published"] else f"{fp32['parity']['worst_output']}: {fp32['parity']['gate']}"
    return Row(model.name, target, verdict, route, _parity(fp32), seconds, reason)


def table(rows: list[Row]) -> str:
    lines = ["| model | target | verdict | route | fp32 parity | s | reason |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        lines.append(f"| {row.model} | {row.target} | {row.verdict} | {row.route} | {row.parity} | "
                     f"{row.seconds:.1f} | {row.reason.replace('|', '/')} |")
    passed = sum(row.verdict == "published" for row in rows)
    lines.append("")
    lines.append(f"**{passed}/{len(rows)} model x target pairs published** "
                 f"({100 * passed / max(1, len(rows)):.0f} %)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help="comma-separated names (default: all)")
    parser.add_argument("--targets", help="comma-separated targets (default: each model's own list)")
    parser.add_argument("--runtime", default="venv")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS.relative_to(REPO)}")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    models = [BY_NAME[name] for name in args.models.split(",")] if args.models else list(MODELS)
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-") as tmp:
        for model in models:
            for target in (args.targets.split(",") if args.targets else model.targets):
                out = Path(tmp) / f"{model.name}-{target}"
                row = convert(model, target, args.runtime, args.timeout, out)
                print(f"{model.name} -> {target}: {row.verdict} {row.seconds:.1f}s {row.reason}",
                      file=sys.stderr, flush=True)
                rows.append(row)
    text = table(rows)
    print(text)
    target = args.out or (RESULTS if args.write else None)
    if target:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    sys.exit(main())
