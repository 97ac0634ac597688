"""Benchmark: how many of ONNX's own backend node tests modelferry turns into a validated TFLite file.

    make bench-conformance CONFORMANCE_ARGS="--sample 40 --write"
    .venv/bin/python bench/conformance.py [--sample N [--offset 0.5] | --tests test_relu,test_add | --all]
                                          [--timeout 300] [--write | --out FILE] [--work DIR --keep]
                                          [--modelferry PATH-OF-ANOTHER-CHECKOUT'S-CLI]

The onnx wheel in the tf runtime ships onnx/backend/test/data/node/<test>/model.onnx with
test_data_set_0/input_K.pb: one model per operator variant, with its inputs. For each picked
test (default: 40, every k-th of the sorted names), bench/conformance_inputs.py (in the tf
runtime, one process for all) writes the inputs as a samples .npz keyed by graph input name,
dtype kept, except the inputs that ONNX's op schema calls the op's parameters (axes, pads, scales,
sizes …): a real model carries those as constants, so they are fixed with `--bind name=values`
(`--no-bind` keeps them as inputs, as the tests have them); then `modelferry convert model.onnx
--to tflite --samples that.npz --runtime venv` runs, one test at a time, in a cold bundle cache,
with a per-test timeout. Each run is
classified: published (exit 0), gate (a FAILED parity row), stage (a stage failed: its
[stage/impl] and one-line reason), usage (exit 2), timeout, skipped (inputs that cannot be an
.npz); failures are tagged with who is at fault by the CLASSES registry of reason patterns.
Prints a markdown table by op and a summary (--write: also bench/results/conformance.md).
This measures modelferry's whole ONNX -> TFLite route (load/onnx input handling, onnx2tf,
LiteRT, the fp32 gate) on small single-op graphs, not the speed of anything.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HELPER = REPO / "bench" / "conformance_inputs.py"
DEFAULT_MD = REPO / "bench" / "results" / "conformance.md"
REASON_CHARS = 140

# Who is at fault, by the failure's "<stage/impl> <reason>" text: the first matching row wins.
CLASSES: list[tuple[str, str]] = [
    (r"^timeout", "timeout"),
    (r"^usage", "modelferry: usage"),
    (r"^skipped", "benchmark: inputs not an array"),
    (r"^gate", "parity: every route missed the gate"),
    # load/onnx refuses or misreads the inputs: dtypes, shapes, --input-shape, the samples file;
    # ONNX Runtime's complaints about fed inputs come from how load/onnx batches and casts samples.
    (
        r"only float inputs|dynamic dimensions|--input-shape|samples file|holds no samples"
        r"|invalid dimensions for input|invalid rank for input|unexpected input data type",
        "modelferry: inputs",
    ),
    (r"no input matches", "modelferry: inputs"),
    # float8/bfloat16/complex inputs: no TFLite tensor type can hold them, so the route is refused up front
    (r"is (float8\w*|float4\w*|bfloat16|complex\w*|u?int4|u?int2); modelferry feeds", "input type TFLite lacks"),
    (r"runs neither in ONNX Runtime nor|does not load in ONNX Runtime", "ONNX Runtime and onnx.reference"),
    (r"no output matches", "modelferry: outputs"),
    (r"onnx\.checker|not a readable ONNX model|no graph nodes", "ONNX model"),
    (r"^load/onnx .*not finite", "ONNX Runtime: output not finite"),
    (r"^load/onnx", "ONNX Runtime"),
    (r"^emit/|onnx2tf", "converters: every route failed"),
    (r"^(plan|publish)", "modelferry"),
    (r"^validate/tflite|LiteRT", "LiteRT"),
    (r"", "other"),
]

ERROR_LINE = re.compile(r"^error: \[(?P<stage>[^\]]+)\](?: \([^)]*\))? (?P<reason>.*)$", re.M)
GATE_LINE = re.compile(r"✗ (?P<target>\S+) failed its gate: (?P<reason>.*)$", re.M)


@dataclass
class Test:
    name: str
    ops: list[str]
    model: str = ""
    samples: str = ""
    inputs: list[dict] = field(default_factory=list)
    skip: str = ""
    bind: dict = field(default_factory=dict)  # parameter inputs (axes, pads, sizes …) fixed to their values
    samples_all: str = ""  # every input, the parameters too (for --no-bind)

    def binds(self) -> list[str]:
        return [
            arg
            for name, value in self.bind.items()
            for arg in (
                "--bind",
                f"{name}=[{','.join(map(repr, value))}]" if isinstance(value, list) else f"{name}={value!r}",
            )
        ]

    def input_shapes(self) -> list[str]:
        """--input-shape only where load/onnx needs it: a dynamic dimension past the batch."""
        return [
            f"{i['name']}:{','.join(map(str, i['shape']))}" for i in self.inputs if i["shape"] and None in i["dims"][1:]
        ]


@dataclass
class Result:
    test: Test
    verdict: str  # published | gate | stage | usage | timeout | skipped
    seconds: float = 0.0
    stage: str = ""  # the failed stage/impl
    reason: str = ""
    fault: str = ""  # a CLASSES class, for anything but published
    route: str = ""  # the converters that made the published TFLite file

    @property
    def passed(self) -> bool:
        return self.verdict == "published"


def classify(verdict: str, stage: str, reason: str) -> str:
    text = f"{stage or verdict} {reason}"
    return next(name for pattern, name in CLASSES if re.search(pattern, text, re.I))


def one_line(text: str) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def runtime_python(modelferry: Path, *args: str) -> str:
    """stdout of `python ARGS` in the tf runtime (venv)."""
    done = subprocess.run(
        [str(modelferry), "runtime", "exec", "tf", "--", "python", *args], capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"the tf runtime failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def pick(names: list[str], args) -> list[str]:
    if args.tests:
        wanted = [n.strip() for n in args.tests.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise SystemExit(f"--tests {','.join(unknown)}: no such node test")
        return wanted
    if args.all or args.sample >= len(names):
        return names
    # every k-th, spread out; --offset 0.5 picks the ones half-way between (a sample disjoint from the default)
    return [names[int((i + args.offset) * len(names) / args.sample)] for i in range(args.sample)]


def convert(modelferry: Path, test: Test, out: Path, env: dict, timeout: float, bind: bool = True) -> Result:
    argv = [
        str(modelferry),
        "convert",
        test.model,
        "--to",
        "tflite",
        "--samples",
        test.samples if bind else test.samples_all,
        "--out",
        str(out),
        "--runtime",
        "venv",
    ]
    for shape in test.input_shapes():
        if not bind or shape.split(":")[0] not in test.bind:
            argv += ["--input-shape", shape]
    argv += test.binds() if bind else []
    started = time.monotonic()
    # Its own session, so a timeout ends the CLI and the stage processes it started, and nothing else.
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        return Result(
            test,
            "timeout",
            time.monotonic() - started,
            reason=f"no result after {timeout:.0f} s",
            fault=classify("timeout", "", ""),
        )
    seconds = time.monotonic() - started
    (out.parent / f"{test.name}.log").write_text(log)
    result = judge(test, proc.returncode, log, seconds)
    reports = sorted(out.glob("*/*/report.json"))
    if reports:
        artifact = json.loads(reports[-1].read_text())["artifacts"][0]
        result.route = " → ".join(
            step for step in (artifact.get("route") or "").split(" → ")[1:] if step != "emit/savedmodel-tflite"
        )
    return result


def last_line(log: str) -> str:
    """The last line with words in it, out of Rich's boxes."""
    lines = [line.strip(" │╭╮╰╯─") for line in log.splitlines()]
    return next((line for line in reversed(lines) if re.search(r"\w", line)), "no output")


def judge(test: Test, code: int, log: str, seconds: float) -> Result:
    if code == 0:
        return Result(test, "published", seconds)
    if code == 2:
        verdict, stage, reason = "usage", "", last_line(log)
    elif gate := GATE_LINE.search(log):
        verdict, stage, reason = "gate", "", f"{gate['target']}: {gate['reason']}"
    elif error := ERROR_LINE.search(log):
        verdict, stage, reason = "stage", error["stage"], error["reason"]
    else:
        verdict, stage, reason = "stage", "?", f"exit {code}: {last_line(log)}"
    return Result(test, verdict, seconds, stage, reason, classify(verdict, stage, reason))


def markdown(results: list[Result], versions: dict[str, str], command: str) -> str:
    rows = ["| op | test | verdict | converter | s | fault | reason |", "| --- | --- | --- | --- | ---: | --- | --- |"]
    for r in sorted(results, key=lambda r: (r.test.ops[:1], r.test.name)):
        verdict = r.verdict + (f" ({r.stage})" if r.stage else "")
        name = r.test.name + (" †" if r.test.input_shapes() else "")
        rows.append(
            f"| {', '.join(r.test.ops) or '–'} | {name} | {verdict} | {r.route if r.passed else ''} | "
            f"{r.seconds:.1f} | {r.fault or ''} | {one_line(r.reason)} |"
        )
    ran = [r for r in results if r.verdict != "skipped"]
    passed = sum(r.passed for r in ran)
    verdicts = Counter(r.verdict for r in results)
    faults = Counter(r.fault for r in results if r.fault)
    stages = Counter(r.stage for r in results if r.stage)
    routes = Counter(r.route for r in results if r.passed)
    summary = [
        "",
        f"**pass rate: {passed}/{len(ran)} published"
        + (f" ({100 * passed / len(ran):.0f} %)" if ran else "")
        + f"**, {len(results) - len(ran)} skipped; "
        f"{sum(r.seconds for r in results):.0f} s in all",
        "",
        "| verdict | tests |",
        "| --- | ---: |",
        *(f"| {v} | {n} |" for v, n in verdicts.most_common()),
        "",
        "| failure class | tests |",
        "| --- | ---: |",
        *(f"| {f} | {n} |" for f, n in faults.most_common()),
        "",
        "| converter that made the published file | tests |",
        "| --- | ---: |",
        *(f"| {route or '(the source)'} | {n} |" for route, n in routes.most_common()),
    ]
    if stages:
        summary += [
            "",
            "| failed stage | tests |",
            "| --- | ---: |",
            *(f"| {s} | {n} |" for s, n in stages.most_common()),
        ]
    tools = ", ".join(f"{k} {v}" for k, v in versions.items())
    head = [
        "# ONNX backend node tests -> TFLite through modelferry",
        "",
        f"`{command}`; tf runtime: {tools}. † = run with --input-shape (a dynamic dimension).",
        "",
    ]
    return "\n".join(head + rows + summary) + "\n"


def run_one(n: int, test: "Test", tests: list, work: Path, modelferry: str, env: dict, args) -> "Result":
    if test.skip:
        result = Result(test, "skipped", reason=test.skip, fault=classify("skipped", "", test.skip))
    else:
        out = work / "out" / test.name
        shutil.rmtree(out, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        result = convert(modelferry, test, out, env, args.timeout, bind=not args.no_bind)
    print(
        f"[{n}/{len(tests)}] {test.name}: {result.verdict} {result.stage} {result.seconds:.1f}s "
        f"{one_line(result.reason)}",
        file=sys.stderr,
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=40, help="every k-th of the sorted test names (default 40)")
    parser.add_argument(
        "--offset", type=float, default=0.0, help="start the sample this fraction of a step in (0 <= f < 1; default 0)"
    )
    parser.add_argument("--tests", help="comma-separated test names instead of a sample")
    parser.add_argument("--all", action="store_true", help="every node test (1600+: many hours)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per test (default 300)")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    parser.add_argument("--write", action="store_true", help=f"--out {DEFAULT_MD.relative_to(REPO)}")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, npz, artifacts)")
    parser.add_argument("--modelferry", type=Path, help="the CLI to measure (default: this venv's modelferry)")
    parser.add_argument("--no-bind", action="store_true", help="keep the ops' parameter inputs as model inputs")
    args = parser.parse_args()
    if not 0 <= args.offset < 1:
        parser.error("--offset must be at least 0 and below 1")
    out_md = args.out or (DEFAULT_MD if args.write else None)

    modelferry = args.modelferry or Path(sys.executable).parent / "modelferry"
    if not modelferry.exists():
        modelferry = REPO / ".venv" / "bin" / "modelferry"
    where = json.loads(runtime_python(modelferry, str(HELPER), "--where").strip().splitlines()[-1])
    node_dir = Path(where["node_dir"])
    names = sorted(p.name for p in node_dir.iterdir() if (p / "model.onnx").is_file())
    picked = pick(names, args)

    work = Path(args.work or tempfile.mkdtemp(prefix="modelferry-conformance-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"{len(picked)} of {len(names)} node tests; work dir {work}", file=sys.stderr, flush=True)
    runtime_python(modelferry, str(HELPER), "--tests", ",".join(picked), "--out", str(work / "inputs"))
    tests = [Test(**entry) for entry in json.loads((work / "inputs" / "tests.json").read_text())]

    # A cold bundle cache (the shared runtimes' venvs), and a Prefect home of this run's own.
    home = work / "home"
    home.mkdir(exist_ok=True)
    shared = Path(os.environ.get("MODELFERRY_HOME") or Path.home() / ".cache" / "modelferry") / "venvs"
    if not (home / "venvs").exists():
        (home / "venvs").symlink_to(shared)
    env = {
        **os.environ,
        "MODELFERRY_HOME": str(home),
        "PREFECT_HOME": str(work / "prefect"),
        "PREFECT_LOGGING_LEVEL": "ERROR",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "COLUMNS": "250",
        "NO_COLOR": "1",
    }

    from flows import server

    sys.path.insert(0, str(REPO))
    with server.session() as url:  # one Prefect server for every conversion; stopped if this started it
        env["PREFECT_API_URL"] = url
        results = [run_one(n, test, tests, work, modelferry, env, args) for n, test in enumerate(tests, 1)]

    command = "bench/conformance.py " + " ".join(sys.argv[1:])
    text = markdown(results, where["versions"], command.strip())
    print(text, end="")
    if out_md:
        out_md.parent.mkdir(parents=True, exist_ok=True)
        out_md.write_text(text)
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
