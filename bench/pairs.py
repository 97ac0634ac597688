"""Benchmark: conversion time and parity of every source -> target pair on MobileNetV2, next to the bare converters.

    make bench-pairs      (or: .venv/bin/python bench/pairs.py [--sources keras,mxnet] [--targets onnx,tflite]
                                 [--runtime venv|docker] [--models DIR] [--keep])

Builds MobileNetV2 (random weights, fixed seed) in each framework's runtime, then per
source runs one `convert` to every target, fp32 only, in a cold bundle cache, in-process
(like bench/stages.py). Per (source, target): the seconds of the stages on the target's
route, the fp32 parity, and the seconds of the same converters called directly in the
same runtime (bench/bare/). Prints one markdown table. Heavy: run it under
`flock /tmp/modelferry-heavy.lock` where others share the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pairs_table import Pair  # noqa: E402  (bench/ is the script's folder, on the path)


def _names(text: str | None, known: list[str], what: str) -> list[str]:
    if not text:
        return known
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"--{what} {','.join(unknown)}: not known here; choose from {', '.join(known)}")
    return names


def _scratch_env(scratch: Path) -> dict[str, str]:
    shared = Path(os.environ.get("MODELFERRY_HOME") or Path.home() / ".cache" / "modelferry")
    os.environ.update(
        PREFECT_HOME=str(scratch / "prefect"),
        PREFECT_LOGGING_LEVEL="ERROR",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    return {"shared_venvs": str(shared / "venvs")}


def _fresh_home(scratch: Path, source: str, shared_venvs: str) -> dict[str, str]:
    """A cold bundle cache for one source; the runtimes' venvs are the shared ones."""
    home = scratch / f"home-{source}"
    home.mkdir()
    (home / "venvs").symlink_to(shared_venvs)
    os.environ["MODELFERRY_HOME"] = str(home)
    return dict(os.environ)


def _pairs_of(run, targets: list[str], bare_runtime: str, env: dict[str, str], bare_cache: dict) -> list[Pair]:
    from pairs_bare import call_for
    from pairs_bare import run as run_bare
    from pairs_flow import route_formats, steps_of

    pairs = []
    for target in targets:
        steps = steps_of(run, target)
        text = " → ".join(route_formats(run.source, steps))
        made = " → ".join(step.name for step in steps if step.stage in ("export", "emit"))
        if target in run.errors and target not in run.parity:
            pairs.append(Pair(run.source, target, text, None, None, None, run.errors[target], made))
            continue
        seconds = sum(run.seconds.get(step.name, 0.0) for step in steps)
        bare, why = 0.0, ""
        for index, step in enumerate(steps):
            if step.stage not in ("export", "emit"):
                continue
            try:
                call = call_for(step, run.bundles[step.inputs[0]] if step.inputs else None, steps[index - 1])
            except KeyError as exc:  # a converter with no bare script (modelferry's own translation, onnx-tf)
                why = why or str(exc).strip("'\"")
                continue
            if call is None:  # a hop the previous hop's bare converter makes too (onnx2tf writes TFLite)
                continue
            if call not in bare_cache:
                print(f"[{run.source}] bare {call.script} for {step.name} …", file=sys.stderr, flush=True)
                bare_cache[call] = run_bare(call, bare_runtime, env)
                timing = bare_cache[call]
                print(
                    f"[{run.source}] bare {timing.converter}: {timing.error or f'{timing.seconds:.1f} s'}",
                    file=sys.stderr,
                    flush=True,
                )
            timing = bare_cache[call]
            if timing.seconds is None:
                why = why or f"bare {timing.converter}: {timing.error}"
            else:
                bare += timing.seconds
        pairs.append(
            Pair(
                run.source,
                target,
                text,
                seconds,
                None if why else bare,
                run.parity.get(target),
                why or run.errors.get(target, ""),
                made,
            )
        )
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", help="comma-separated, e.g. keras,mxnet (default: every source)")
    parser.add_argument("--targets", help="comma-separated, e.g. onnx,tflite (default: every target)")
    parser.add_argument("--runtime", default="venv", choices=("venv", "docker"))
    parser.add_argument("--models", type=Path, help="where the MobileNetV2 files are (built there if missing)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (bundles, reports)")
    args = parser.parse_args()

    import pairs_models
    from pairs_table import render

    from stages import catalog

    known_sources = [m.source for m in pairs_models.MODELS if m.source in catalog.SOURCES]
    sources = _names(args.sources, known_sources, "sources")
    targets = _names(args.targets, list(catalog.TARGETS), "targets")
    skipped = []
    if not pairs_models.torch_stages_present():
        skipped = [s for s in sources if pairs_models.BY_SOURCE[s].builder == "torch"]
        sources = [s for s in sources if s not in skipped]

    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="modelferry-bench-pairs-"))
    shared_venvs = _scratch_env(scratch)["shared_venvs"]
    models = args.models or scratch / "models"
    build_s = pairs_models.build(
        models, pairs_models.builders(sources), {**os.environ, "MODELFERRY_HOME": str(Path(shared_venvs).parent)}
    )

    from pairs_flow import run_source
    from prefect import flow

    @flow
    def hello() -> int:
        return 1

    hello()  # Prefect's temporary server starts here, not inside the first source's run
    pairs: list[Pair] = []
    walls: dict[str, float] = {}
    stages: dict[str, dict[str, float]] = {}
    for source in sources:
        model = pairs_models.BY_SOURCE[source]
        env = _fresh_home(scratch, source, shared_venvs)
        run = run_source(source, model.path(models), model.input_shapes, targets, args.runtime, scratch / "artifacts")
        walls[source], stages[source] = run.wall, run.seconds
        pairs += _pairs_of(run, targets, args.runtime, env, {})
    total = time.monotonic() - started
    print(render(pairs, walls, stages, args.runtime, total, build_s, skipped))
    if not args.keep:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    else:
        print(f"\nscratch kept in {scratch}", file=sys.stderr)


if __name__ == "__main__":
    main()
