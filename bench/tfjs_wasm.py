"""TFJS graph models in Node.js on @tensorflow/tfjs' wasm backend next to its pure-JS CPU backend, in one run.

    .venv/bin/python -m bench.tfjs_wasm [--models nsfwjs-mobilenet-v2-mid,human-age] [--out FILE]

Per zoo TFJS graph model (layers models are run by Keras, not here): tests/helpers/tfjs_backends.py in the
tfjs runtime runs the model on the same 4 random inputs on both backends (one Node.js process each, the
model loaded once) and says which backend ran, the seconds, and the largest difference. Prints a markdown
table (and writes it to --out)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from bench.zoo import cold, fetch
from bench.zoo.catalog import chosen

FOUND = re.compile(r"wasm ran on (\w+) in (\S+)s, cpu on (\w+) in (\S+)s; max abs diff (\S+) of max (\S+)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help="comma-separated zoo names (default: every TFJS graph model)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    models = chosen(args.models, lambda m: m.source.endswith(".json") and "TFJS layers model" not in m.traits)
    lines = [
        "| model | ran on | wasm s | cpu s | cpu / wasm | max abs diff | max |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for model in models:
        done = subprocess.run(
            [
                str(cold.CLI),
                "runtime",
                "exec",
                "tfjs",
                "--",
                "python",
                "tests/helpers/tfjs_backends.py",
                str(fetch.source(model, download=False)),
            ],
            capture_output=True,
            text=True,
            cwd=cold.REPO,
        )
        found = FOUND.search(done.stdout)
        if found is None:
            reason = ([line for line in done.stderr.splitlines() if line.strip()] or ["no output"])[-1][:120]
            lines.append(f"| {model.name} | — | | | | | {reason.replace('|', '/')} |")
        else:
            ran, wasm, _, cpu, diff, top = found.groups()
            lines.append(
                f"| {model.name} | {ran} | {float(wasm):.2f} | {float(cpu):.2f} | "
                f"{float(cpu) / float(wasm):.1f}× | {float(diff):.1e} | {float(top):.3g} |"
            )
        print(lines[-1], file=sys.stderr, flush=True)
    return cold.finish(lines, args.out)


if __name__ == "__main__":
    sys.exit(main())
