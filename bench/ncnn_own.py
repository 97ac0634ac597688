"""modelferry's own ncnn writer alone (no pnnx) on the zoo's ONNX files, in one run.

    .venv/bin/python -m bench.ncnn_own [--models magika,ddddocr-det] [--out FILE]

Per zoo model whose source is an ONNX file: `modelferry convert MODEL --to ncnn --via ncnn-own
--no-fallback` on a cold bundle cache, the route held to emit/ncnn-own; the verdict, the fp32 parity
against ONNX Runtime, the whole process's seconds, and for a refusal its one line (the op and the node).
Next to it, the verdict of the route pnnx takes (`--via ncnn`). Prints a markdown table (and writes it
to --out)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.zoo import cold, fetch
from bench.zoo.catalog import ZooModel, chosen
from flows import server


def held_to(model: ZooModel, converter: str, scratch: Path) -> tuple[float, dict]:
    return cold.convert(
        fetch.source(model, download=False),
        [*model.options, "--to", "ncnn", "--via", converter, "--no-fallback", "--runtime", "venv"],
        scratch,
    )


def verdict(artifact: dict) -> str:
    return "published" if artifact.get("published") else "refused"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help="comma-separated zoo names (default: every ONNX source)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    models = chosen(args.models, lambda m: m.source.endswith(".onnx"))
    lines = [
        "| model | own writer | parity | MB | s | reason | pnnx's route |",
        "| --- | --- | --- | ---: | ---: | --- | --- |",
    ]
    own_passed = 0
    with tempfile.TemporaryDirectory(prefix="ncnn-own-") as tmp, server.session():
        for model in models:
            seconds, own = held_to(model, "ncnn-own", Path(tmp))
            _, pnnx = held_to(model, "ncnn", Path(tmp))
            parity = own.get("parity") or {}
            err = f"max abs {parity['max_abs_err']:.1e}" if "max_abs_err" in parity else ""
            size = f"{own['bytes'] / 1e6:.1f}" if own.get("bytes") else ""
            reason = "" if own.get("published") else own.get("reason", "")[:160].replace("|", "/")
            lines.append(
                f"| {model.name} | {verdict(own)} | {err} | {size} | {seconds:.1f} | {reason} | {verdict(pnnx)} |"
            )
            own_passed += bool(own.get("published"))
            print(lines[-1], file=sys.stderr, flush=True)
    lines += ["", f"**The own writer alone: {own_passed}/{len(models)} published**"]
    return cold.finish(lines, args.out)


if __name__ == "__main__":
    sys.exit(main())
