"""Benchmark: what containers cost against venvs, and what images cost to build and store.

    .venv/bin/python bench/runtimes.py [--model examples/models/face] [--repeat 3] [--cold]

Prints (1) the wall time of the same stage process (validate/onnx, export/mxnet)
in a venv and in its hardened container, and the difference; (2) image build
time: warm (unchanged, a no-op), after a stage-code change (last layer only),
and cold (--cold: no layer cache, under a throwaway tag); (3) image sizes.
Needs a Docker engine and the images (`modelferry images build`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def table(title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "examples" / "models" / "face")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time a build without layer cache (minutes)")
    args = parser.parse_args()

    from flows.cache import BundleCache
    from flows.images import build, docker_client
    from flows.runtimes import Invocation, RuntimeSpec, select
    from flows.tasks import run_stage
    from stages import catalog

    venv, docker = select(RuntimeSpec("venv")), select(RuntimeSpec("docker"))
    source = BundleCache().put_source(
        {"symbol": args.model / "model-symbol.json", "params": args.model / "model-0000.params"},
        {"format": "mxnet-checkpoint", "source": {"format": "mxnet"}},
    )
    spec = RuntimeSpec("venv")
    loaded = run_stage.fn("load", "mxnet", {"input_shapes": {"data": [1, 3, 112, 112]}}, [source], spec)
    edited = run_stage.fn("surgery", "mxnet", {}, [loaded.bundle], spec)
    onnx = run_stage.fn("export", "mxnet", {"opset": 13}, [edited.bundle], spec)

    rows = []
    for stage, impl, config, inputs in (
        ("validate", "onnx", {}, [onnx.bundle]),
        ("export", "mxnet", {"opset": 13}, [edited.bundle]),
    ):
        image = catalog.get(stage, impl).image
        times = {}
        for runtime in (venv, docker):
            runtime.ensure(image)
            samples = []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as out:
                    os.chmod(out, 0o777)
                    started = time.monotonic()
                    runtime.run(Invocation(stage, impl, image, config, inputs, Path(out)))
                    samples.append(time.monotonic() - started)
            times[runtime.name] = statistics.median(samples)
        rows.append(
            (
                f"{stage}/{impl}",
                f"{times['venv']:.2f}",
                f"{times['docker']:.2f}",
                f"{times['docker'] - times['venv']:+.2f}",
            )
        )
    table(
        f"Stage process wall time, median of {args.repeat} (seconds)",
        ("stage", "venv", "docker", "container overhead"),
        rows,
    )

    client = docker_client()
    rows = []
    for name in catalog.images():
        started = time.monotonic()
        tag, built = build(name, client=client, log=lambda _: None)
        warm = time.monotonic() - started
        started = time.monotonic()
        build(name, client=client, log=lambda _: None, tag=f"modelferry-bench/{name}:code-change")
        layer = time.monotonic() - started
        cold = "–"
        if args.cold:
            started = time.monotonic()
            build(name, client=client, log=lambda _: None, tag=f"modelferry-bench/{name}:cold", nocache=True)
            cold = f"{time.monotonic() - started:.1f}"
        for throwaway in ("code-change", "cold"):
            try:
                client.images.remove(f"modelferry-bench/{name}:{throwaway}")
            except Exception:
                pass
        size = client.images.get(tag).attrs["Size"] / 1e6
        rows.append((name, tag, f"{warm:.2f}", f"{layer:.1f}", cold, f"{size:,.0f}"))
    table(
        "Images (seconds, MB)",
        ("image", "tag", "rebuild unchanged", "rebuild, new tag (layers cached)", "cold build (no cache)", "size MB"),
        rows,
    )


if __name__ == "__main__":
    main()
