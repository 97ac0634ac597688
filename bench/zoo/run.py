"""Benchmark: every zoo model (real trained models from PyPI wheels) to every target.

    make bench-zoo ZOO_ARGS="--write"
    .venv/bin/python -m bench.zoo.run [--models rapidocr-cls,silero-vad] [--targets tflite,onnx]
                                      [--runtime venv] [--timeout 1800] [--no-bare] [--write | --out FILE]
                                      [--update EARLIER.md]

One `modelferry convert` per model x target, with the options a user would give so that the samples
fit the model (bench/zoo/catalog.py), each model on an empty bundle cache (its later targets reuse its load
and export stages). The conversions share one MODELFERRY_HOME and its Prefect server, as a user's calls do,
so its resident engine runs them (MODELFERRY_RESIDENT=off: each in its own process). Per row: the verdict
(published, gate failed, not made), the route that made the fp32 artifact, its parity, and for a failure
the one-line reason and the first diverging layer; the seconds of the stages on that route next to the
seconds of the same converters called by hand (bench/bare/, in the same runtime, on the same files the
stages read).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.zoo import fetch
from bench.zoo.catalog import ZooModel, chosen
from flows import server
from stages import catalog

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".venv" / "bin" / "modelferry"
RESULTS = REPO / "bench" / "results" / "zoo.md"
# A model's targets in this order: ONNX first (the others start from its stages, cached by then).
ORDER = ("onnx", "tflite", "savedmodel", "tfjs", "openvino", "ncnn", "mxnet", "caffe")


@dataclass
class Row:
    model: str
    target: str
    verdict: str
    route: str = ""
    parity: str = ""
    seconds: float = 0.0  # the stages on the route that made the artifact (or all, when none did)
    bare: float | None = None  # the same converters by hand
    reason: str = ""
    divergence: str = ""
    bare_note: str = ""  # why there is no bare time (the bare converter failed on the model …)
    earlier: str = ""  # why the routes before the one that made it were not used


def _parity(parity: dict) -> str:
    floor = f", floor {parity['noise_floor']:.1e}" if parity.get("noise_floor") else ""
    error = "–" if parity["max_abs_err"] >= 1e300 else f"{parity['max_abs_err']:.1e}"  # 1e300: not measurable
    return f"max abs {error}, cos {parity['cosine']:.6f}{floor}"


def _divergence(artifact: dict) -> str:
    found = artifact.get("divergence") or next(
        (a["divergence"] for a in artifact.get("attempts", []) if a.get("divergence")), None
    )
    if not found:
        return ""
    if not found.get("layer"):
        return found.get("why", "")[:120]
    after = "no tensor of its size" if found.get("error_after") is None else f"{found['error_after']:.2g}"
    return f"{found['layer']} ({found['op']}): {found['error_before']:.2g} → {after}"


def _route_stages(route: str, stages: list[dict], cold: dict[str, float]) -> float:
    """The seconds of the route's stages and of the fp32 validation; a stage an earlier target of the
    model ran (cached here) counts with the seconds of its cold run."""
    for s in stages:
        if not s["cached"]:
            cold.setdefault(f"{s['stage']}/{s['impl']} {s['label']}".strip(), s["seconds"])
    names = {
        f"{s['stage']}/{s['impl']} {s['label']}".strip()
        for s in stages
        if f"{s['stage']}/{s['impl']}" in set(route.split(" → "))
        and not s["label"]
        or s["stage"] == "validate"
        and s["label"] == "fp32"
    }
    return sum(cold.get(name, 0.0) for name in names)


# Converters that are modelferry's own (or run in a runtime no bare script covers): no bare time.
OWN = {"onnx-tfops", "onnx-opset11", "onnx-tf", "tflite-as-is"}


class Bare:
    """The bare converters of a route's hops, found by (stage, impl) in the model's own cold cache."""

    def __init__(self, home: Path, runtime: str):
        self.home, self.runtime, self.timings = home, runtime, {}

    def bundles(self) -> dict[str, Path]:
        found = {}
        for manifest in sorted((self.home / "bundles").glob("*/manifest.json"), key=lambda p: p.stat().st_mtime):
            provenance = json.loads(manifest.read_text()).get("provenance", {})
            if provenance:
                found[f"{provenance['stage']}/{provenance['impl']}"] = manifest.parent
        return found

    def seconds(self, route: str) -> tuple[float | None, str]:
        from bench.pairs_bare import call_for, run
        from flows.plan import Step

        names = route.split(" → ")
        bundles, total = self.bundles(), 0.0
        steps = [Step(name, *name.split("/"), (), {}) for name in names]
        for index, step in enumerate(steps):
            if step.stage not in ("export", "emit"):
                continue
            if step.impl in OWN:
                return None, ""
            try:
                call = call_for(step, bundles[names[index - 1]], steps[index - 1])
            except KeyError as exc:
                return None, str(exc).strip('"')
            if call is None:
                continue
            if call not in self.timings:
                self.timings[call] = run(call, self.runtime, dict(os.environ))
            timing = self.timings[call]
            if timing.seconds is None:
                return None, f"bare {timing.converter}: {timing.error}"
            total += timing.seconds
        return total, ""


def _error(stderr: str, otherwise: list[str]) -> str:
    """The CLI's last "error:" line, else the last of `otherwise`, as a one-line reason."""
    lines = [line for line in stderr.splitlines() if line.startswith("error:")] or otherwise
    return lines[-1].removeprefix("error: ")[:240]


def convert(
    model: ZooModel, target: str, runtime: str, timeout: float, out: Path, bare: Bare | None, cold: dict[str, float]
) -> Row:
    argv = [
        str(CLI),
        "convert",
        str(fetch.source(model, download=False)),
        "--to",
        target,
        *model.options,
        "--out",
        str(out),
        "--runtime",
        runtime,
    ]
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Row(model.name, target, "timeout", seconds=timeout, reason=f"no result within {timeout:.0f} s")
    seconds = time.monotonic() - started
    reports = sorted(out.glob("*/*/report.json"), key=lambda p: p.stat().st_mtime)
    if not reports:
        last = [line for line in done.stderr.splitlines() if line.strip()][-1:] or ["no output"]
        return Row(
            model.name,
            target,
            "usage" if done.returncode == 2 else "not made",
            seconds=seconds,
            reason=_error(done.stderr, last),
        )
    report = json.loads(reports[-1].read_text())
    fp32 = next((a for a in report["artifacts"] if a["precision"] == "fp32"), None)
    if fp32 is None:  # the run failed before any target (a source this runtime cannot load)
        return Row(model.name, target, "not made", seconds=seconds, reason=_error(done.stderr, ["no artifact"]))
    verdict = "published" if fp32["published"] else ("gate failed" if fp32.get("parity") else "not made")
    row = Row(
        model.name,
        target,
        verdict,
        fp32.get("route") or "",
        _parity(fp32["parity"]) if fp32.get("parity") else "",
        _route_stages(fp32["route"], report["stages"], cold) if fp32.get("route") else seconds,
        reason=fp32.get("reason", "")[:240],
        divergence=_divergence(fp32),
    )
    row.earlier = "; ".join(
        f"{a['stage'] if a.get('stage') else a['route'].split(' → ')[-1]}: {a['reason'].split('] ', 1)[-1][:110]}"
        for a in fp32.get("attempts", [])
        if a["outcome"] in ("stage failed", "missed its gate") and a["route"] != fp32.get("route")
    )[:260]
    if bare is not None and fp32.get("route"):
        row.bare, row.bare_note = bare.seconds(fp32["route"])
    return row


HEADER = [
    "| model | target | verdict | route that made it | fp32 parity | stages s | bare s | reason | "
    "first diverging layer | routes before it, and why not |",
    "| --- | --- | --- | --- | --- | ---: | ---: | --- | --- | --- |",
]


def kept_rows(path: Path) -> dict[tuple[str, str], str]:
    """The rows of an earlier table (--update), by (model, target), as written."""
    if not path.is_file():
        return {}
    rows = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if line.startswith("| ") and len(cells) > 3 and cells[1] not in ("model", "---"):
            rows[(cells[1], cells[2])] = line
    return rows


def table(rows: list[Row], kept: dict[tuple[str, str], str] | None = None) -> str:
    """The rows of this run, and those of `kept` (an earlier table) it did not make again, in that table's
    order."""
    made = {(row.model, row.target): row for row in rows}
    lines, verdicts = list(HEADER), []
    for key, line in (kept or {}).items():
        row = made.pop(key, None)
        lines.append(line if row is None else _line(row))
        verdicts.append(line.split("|")[3].strip() if row is None else row.verdict)
    for row in made.values():
        lines.append(_line(row))
        verdicts.append(row.verdict)
    passed = sum(verdict == "published" for verdict in verdicts)
    lines += [
        "",
        f"**{passed}/{len(verdicts)} model x target pairs published** ({100 * passed / max(1, len(verdicts)):.0f} %)",
    ]
    return "\n".join(lines)


def _line(row: Row) -> str:
    bare = "—" if row.bare is None else f"{row.bare:.1f}"
    if row.bare is None and any(f"/{own}" in row.route for own in OWN):
        bare = "— (own)"
    elif row.bare_note:
        bare = f"— ({row.bare_note[:80]})"
    return (
        f"| {row.model} | {row.target} | {row.verdict} | {row.route} | {row.parity} | {row.seconds:.1f} | "
        f"{bare} | {row.reason.replace('|', '/')} | {row.divergence.replace('|', '/')} | "
        f"{row.earlier.replace('|', '/')} |"
    )


def _home(scratch: Path, shared: Path) -> Path:
    """The bench's MODELFERRY_HOME: its own bundle cache and server; the runtimes' venvs are the shared ones."""
    home = scratch / "home"
    home.mkdir()
    (home / "venvs").symlink_to(shared)
    return home


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help="comma-separated names (default: all)")
    parser.add_argument(
        "--targets",
        help="comma-separated targets (default: each model's own list, else every target the registry offers)",
    )
    parser.add_argument("--runtime", default="venv")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--no-bare", action="store_true", help="do not time the bare converters")
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS.relative_to(REPO)}")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--update",
        type=Path,
        help="an earlier table: the rows this run makes replace its rows, "
        "the others are kept (written to --out, else to it)",
    )
    args = parser.parse_args()
    models = chosen(args.models)
    every = [target for target in ORDER if target in catalog.TARGETS] + sorted(set(catalog.TARGETS) - set(ORDER))
    out = args.out or args.update or (RESULTS if args.write else None)
    kept = kept_rows(args.update) if args.update else None
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
    shared = Path(os.environ.get("MODELFERRY_HOME") or Path.home() / ".cache" / "modelferry") / "venvs"
    # One home and its Prefect server (and resident engine) for every conversion, stopped at the end; each
    # model starts on an empty bundle cache.
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zoo-") as tmp:
        os.environ["MODELFERRY_HOME"] = str(_home(Path(tmp), shared))
        os.environ.pop("PREFECT_API_URL", None)  # the home's own server
        with server.session():
            rows = _convert_all(args, models, every, kept, out, Path(tmp))
    print(table(rows, kept))
    print(
        f"whole bench {time.monotonic() - started:.0f} s; the rows' stages {sum(row.seconds for row in rows):.1f} s",
        file=sys.stderr,
    )
    return 0


def _convert_all(args, models: list[ZooModel], every: list[str], kept, out: Path | None, tmp: Path) -> list[Row]:
    rows: list[Row] = []
    for model in models:
        shutil.rmtree(Path(os.environ["MODELFERRY_HOME"], "bundles"), ignore_errors=True)
        bare = None if args.no_bare else Bare(Path(os.environ["MODELFERRY_HOME"]), args.runtime)
        cold: dict[str, float] = {}  # each stage's seconds in its cold run, for the model's later targets
        for target in args.targets.split(",") if args.targets else model.targets or every:
            row = convert(model, target, args.runtime, args.timeout, tmp / f"{model.name}-{target}", bare, cold)
            print(
                f"{model.name} -> {target}: {row.verdict} {row.seconds:.1f}s (bare {row.bare}) {row.route} "
                f"{row.reason} {row.divergence}",
                file=sys.stderr,
                flush=True,
            )
            rows.append(row)
            if out:  # after every row: a run cut short keeps what it measured
                out.write_text(table(rows, kept) + "\n")
    return rows


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    sys.exit(main())
