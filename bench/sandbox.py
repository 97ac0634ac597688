"""Benchmark: what bubblewrap adds to a venv stage.

    .venv/bin/python bench/sandbox.py [--repeat 5] [--bare-repeat 20] [--out bench/results/sandbox.md]

Times, in a fresh MODELFERRY_HOME (the runtimes' venvs shared; nothing cached, no Prefect):
- one real stage, load/onnx of a tiny ONNX model (a 3x3 convolution and a ReLU), run as the flow runs it,
  through `VenvRuntime().run(Invocation(...))`, with MODELFERRY_SANDBOX=off and under bubblewrap, each
  run into a fresh output directory, the two interleaved;
- a bare `python -c pass` with the tf venv's interpreter, as it is and inside the same sandbox a stage gets;
- bwrap running /usr/bin/true: the sandbox's own set-up and tear-down.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.scratch import emit, fresh_home  # noqa: E402

TINY_ONNX = """
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
w = numpy_helper.from_array(np.random.RandomState(0).randn(8, 3, 3, 3).astype(np.float32), "w")
nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"])]
graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])], [w])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.save(model, sys.argv[1])
"""


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def row(name: str, plain: list[float], boxed: list[float]) -> str:
    p, b = statistics.median(plain), statistics.median(boxed)
    return (
        f"| {name} | {p * 1000:.0f} | {min(plain) * 1000:.0f} | {b * 1000:.0f} | {min(boxed) * 1000:.0f} "
        f"| {(b - p) * 1000:+.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of the stage in each mode")
    parser.add_argument("--bare-repeat", type=int, default=20, help="runs of `python -c pass` in each mode")
    parser.add_argument("--out", type=Path, help="also write the table here (markdown)")
    args = parser.parse_args()

    scratch, env = fresh_home("sandbox")
    os.environ["MODELFERRY_HOME"] = env["MODELFERRY_HOME"]  # the bundle cache below lives there
    from flows.runtimes import sandbox
    from flows.runtimes.base import Invocation
    from flows.runtimes.venv import VenvRuntime
    from flows.source import resolve

    runtime = VenvRuntime()
    runtime.ensure("tf")
    bwrap = sandbox.bwrap_binary()
    python = str(runtime.python("tf"))
    try:
        model = scratch / "tiny.onnx"
        subprocess.run([python, "-c", TINY_ONNX, str(model)], check=True, env=runtime.environment("tf"))
        source = resolve(model).bundle()

        def stage(mode: str) -> None:
            os.environ[sandbox.SWITCH] = mode
            out = Path(tempfile.mkdtemp(dir=scratch, prefix=f"load-{mode}-"))
            runtime.run(Invocation("load", "onnx", "tf", {}, [source], out))

        stage("off"), stage("on")  # warm the page cache for both
        times = {"off": [], "on": []}
        for _ in range(args.repeat):
            for mode in times:
                times[mode].append(timed(lambda: stage(mode)))
        os.environ.pop(sandbox.SWITCH)

        work, out = scratch / "work", scratch / "out"
        work.mkdir(), out.mkdir()
        boxed_argv = sandbox.argv(
            [python, "-c", "pass"],
            venv=runtime.path("tf"),
            inputs=[source],
            out=out,
            work=work,
            read_only=[REPO / "stages"],
            bwrap=bwrap,
        )
        true_argv = sandbox.argv(
            ["/usr/bin/true"],
            venv=runtime.path("tf"),
            inputs=[source],
            out=out,
            work=work,
            read_only=[REPO / "stages"],
            bwrap=bwrap,
        )
        stage_env = {**runtime.environment("tf"), **sandbox.ENVIRONMENT}

        def run(argv: list[str]) -> None:
            subprocess.run(argv, env=stage_env, cwd=work, check=True, stdin=subprocess.DEVNULL)

        bare = {"plain": [], "boxed": []}
        bare_true = {"plain": [], "boxed": []}
        for _ in range(args.bare_repeat):
            bare["plain"].append(timed(lambda: run([python, "-c", "pass"])))
            bare["boxed"].append(timed(lambda: run(boxed_argv)))
            bare_true["plain"].append(timed(lambda: run(["/usr/bin/true"])))
            bare_true["boxed"].append(timed(lambda: run(true_argv)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    version = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0]  # other work on the machine moves the medians; the minimums less so
    lines = [
        f"{version}, {os.cpu_count()} cores (load average {load:.1f} at the end); milliseconds of wall "
        f"time. The stage: median and min of {args.repeat} runs per mode; the bare processes: of "
        f"{args.bare_repeat}.",
        "",
        "| process | unsandboxed median | min | bubblewrap median | min | added (median) |",
        "|---|---|---|---|---|---|",
        row("load/onnx, tiny model (`VenvRuntime().run`, nothing cached)", times["off"], times["on"]),
        row("`python -c pass`, tf venv", bare["plain"], bare["boxed"]),
        row("`/usr/bin/true`", bare_true["plain"], bare_true["boxed"]),
    ]
    emit("What bubblewrap costs per venv stage (bench/sandbox.py)", lines, args.out)


if __name__ == "__main__":
    main()
