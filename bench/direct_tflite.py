"""ONNX -> TFLite fp32 on real models: modelferry's whole process next to bare onnx2tf 2, in one run.

    .venv/bin/python -m bench.direct_tflite [--models ddddocr-det,rapidocr-cls] [--repeat 1] [--runtime venv]
                                            [--out FILE]

Per zoo model whose source is an ONNX file, three whole processes, each timed from start to exit:
- bare onnx2tf 2 (flatbuffer_direct) on the same file, in modelferry's onnx2tf2 runtime, with the
  inputs at the signature's shapes and the ONNX names kept (-coion), as a user would run it by hand in the
  runtime's activated venv (onnxsim on PATH: onnx2tf simplifies the graph with it first, as modelferry does);
- `modelferry convert MODEL --to tflite --profile 0` on a cold bundle cache (load, golden outputs, the
  conversion by emit/onnx2tf-direct, validation in LiteRT against the golden outputs, the report), a server
  running; without the artifact's latency runs (a second at most), which no bare converter makes;
- the same through onnx2tf 1, a SavedModel and TF's converter (`--via onnx2tf`): the route before.
The best of `--repeat` runs each. Prints a markdown table (and writes it to --out)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.zoo import cold, fetch
from bench.zoo.catalog import ZooModel, chosen
from flows import server
from flows.runtimes.venv import VenvRuntime

INPUTS = (
    "import json, sys, onnx; g = onnx.load(sys.argv[1], load_external_data=False).graph; "
    "w = {i.name for i in g.initializer}; print(json.dumps([[v.name, [d.dim_value for d in "
    "v.type.tensor_type.shape.dim]] for v in g.input if v.name not in w]))"
)


def shapes(model: ZooModel, source: Path, python: Path) -> list[str]:
    """name:dims of each graph input (read in the onnx2tf2 runtime, which has onnx): a dynamic dim given by
    the model's --input-shape, else taken as 1."""
    given = {}
    options = list(model.options)
    for flag, value in zip(options, options[1:], strict=False):
        if flag == "--input-shape":
            for item in value.split(";"):
                name, _, dims = item.rpartition(":")
                given[name] = dims
    found = json.loads(
        subprocess.run(
            [str(python), "-c", INPUTS, str(source)], capture_output=True, text=True, check=True, cwd=cold.REPO
        ).stdout
    )
    return [f"{name}:{given.get(name) or ','.join(str(d) if d > 0 else '1' for d in dims)}" for name, dims in found]


def timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    """A command as a user runs it in the runtime's activated venv: its bin/ first on PATH, where onnx2tf
    finds onnxsim (which it runs three times first; without it on PATH it skips that step silently)."""
    env = {**os.environ, "PATH": f"{Path(argv[0]).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cold.REPO, env=env)
    return time.perf_counter() - start, done


def row(model: ZooModel, scratch: Path, repeat: int, runtime: str) -> str:
    source = fetch.source(model, download=False)
    python = VenvRuntime().python("onnx2tf2")
    bare = []
    for n in range(repeat):
        copy = scratch / f"bare-{n}-{source.name}"  # onnx2tf simplifies the file it is given in place
        shutil.copyfile(source, copy)
        seconds, done = timed(
            [
                str(python),
                "-m",
                "onnx2tf",
                "-i",
                str(copy),
                "-o",
                str(scratch / f"bare-{n}"),
                "-coion",
                "-n",
                "-tb",
                "flatbuffer_direct",
                "-ois",
                *shapes(model, source, python),
            ]
        )
        bare.append(
            seconds if done.returncode == 0 and list((scratch / f"bare-{n}").glob("*_float32.tflite")) else float("nan")
        )
    args = [*model.options, "--to", "tflite", "--runtime", runtime, "--profile", "0"]
    direct = [cold.convert(source, args, scratch) for _ in range(repeat)]
    before = [cold.convert(source, [*args, "--via", "onnx2tf"], scratch) for _ in range(repeat)]
    b, (d, artifact), (o, old) = min(bare), min(direct, key=lambda x: x[0]), min(before, key=lambda x: x[0])
    parity = artifact.get("parity") or {}
    err = f"{parity['max_abs_err']:.1e}" if "max_abs_err" in parity else artifact.get("reason", "")[:80]
    speedup = f"{o / d:.1f}×" if old.get("published") else "— (not published that way)"
    return (
        f"| {model.name} | {b:.1f} | {d:.1f} | {d / b:.1f}× | {artifact.get('route', '—')} | {err} | "
        f"{o:.1f} | {speedup} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help="comma-separated zoo names (default: every ONNX source)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--runtime", default="venv", help="modelferry's runtime (bare onnx2tf 2 runs in the venv)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    models = chosen(args.models, lambda m: m.source.endswith(".onnx"))
    VenvRuntime().ensure("onnx2tf2")
    lines = [
        "| model | bare onnx2tf 2 s | modelferry s | × bare | route | max abs err | modelferry via onnx2tf 1 s "
        "| speed-up |",
        "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory(prefix="direct-") as tmp, server.session():
        for model in models:
            lines.append(row(model, Path(tmp), args.repeat, args.runtime))
            print(lines[-1], file=sys.stderr, flush=True)
    return cold.finish(lines, args.out)


if __name__ == "__main__":
    sys.exit(main())
