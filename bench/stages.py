"""Benchmark: where the time of a conversion of the example model goes.

    make bench            (or: .venv/bin/python bench/stages.py [--model DIR] [--runtime venv|docker])

Prints wall time per stage (cold, in a fresh bundle cache), the flow's total,
the orchestration part (total minus stage work), Prefect's start-up, and the
time of an unchanged re-run. Targets: orchestration <= 20 % of the cold
run's stage work; an unchanged re-run <= 3 s plus Prefect's start-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "examples" / "models" / "face")
    parser.add_argument("--runtime", default="venv", choices=("venv", "docker"))
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="modelferry-bench-"))
    shared = Path(os.environ.get("MODELFERRY_HOME") or Path.home() / ".cache" / "modelferry")
    (scratch / "home").mkdir()
    (scratch / "home" / "venvs").symlink_to(shared / "venvs")
    os.environ.update(
        MODELFERRY_HOME=str(scratch / "home"),
        PREFECT_HOME=str(scratch / "prefect"),
        PREFECT_LOGGING_LEVEL="ERROR",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    sys.path.insert(0, str(REPO))
    from prefect import flow

    from flows.config import ConvertRequest
    from flows.convert import convert

    @flow
    def hello() -> int:
        return 1

    started = time.monotonic()
    hello()
    prefect_start = time.monotonic() - started

    request = ConvertRequest(
        source=args.model / "model-symbol.json",
        input_shapes={"data": [1, 3, 112, 112]},
        targets=["onnx", "tflite"],
        quantize=["fp16", "int8"],
        calibration=args.model / "calib.npz",
        out=str(scratch / "artifacts"),
        runtime=args.runtime,
    )
    started = time.monotonic()
    cold = convert(request)
    cold_total = time.monotonic() - started
    started = time.monotonic()
    warm = convert(request)
    warm_total = time.monotonic() - started

    work = sum(s.seconds for s in cold.stages)
    rows = [(s.name, f"{s.seconds:.2f}") for s in cold.stages]
    rows += [
        ("stage work (sum)", f"{work:.2f}"),
        ("flow total, cold", f"{cold_total:.2f}"),
        (
            "orchestration (total - stage work)",
            f"{cold_total - work:.2f}  ({(cold_total - work) / work:.1%} of stage work; target <= 20%)",
        ),
        ("Prefect start-up (ephemeral server)", f"{prefect_start:.2f}"),
        (
            "unchanged re-run",
            f"{warm_total:.2f}  (stages run: {sum(not s.cached for s in warm.stages)}; target <= 3 s)",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\nruntime: {args.runtime}\n{'step'.ljust(width)} | seconds")
    print(f"{'-' * width}-|--------")
    for name, value in rows:
        print(f"{name.ljust(width)} | {value}")


if __name__ == "__main__":
    main()
