"""Stage entry point: `python -m stages <stage> <impl> --config F --in DIR... --out DIR [--idle]`.

Exit codes: 0 success, 75 transient (retry), anything else permanent; the
last stderr line of a failure is `error: <one-line reason>`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import platform
import sys
import traceback
from importlib import metadata
from pathlib import Path

from stages import catalog
from stages.bundle import MANIFEST, Bundle, sha256_file, write_json_atomic
from stages.context import StageContext
from stages.contract import stamped
from stages.errors import EXIT_FAILED, StageError

# Numerics pinned in every runtime, before any framework is imported. TensorFlow turns its oneDNN
# kernels on by itself only on CPUs with AVX-512 VNNI/BF16 or AMX, so one model's golden outputs
# depended on the CPU that made them: basic-pitch's onset moved by 1.6e-4 between TF's two kernel
# families (on an AVX2-only EPYC), while TFLite and TFJS agree with the oneDNN family within 2e-6.
#
# MXNet runs its ops on the calling thread (NaiveEngine; the same kernels, the same numbers). Its threaded engine
# is restarted by MXNet's own fork handler in every forked child and in the parent, so a warm worker's child
# had threads before it joined the stage's sandbox, the kernel refused it the mount namespace (EINVAL), and
# every MXNet stage ran cold, paying MXNet's import again (load/surgery/export of MobileNetV2: 2-3 s each).
PINNED_ENVIRONMENT = {"TF_ENABLE_ONEDNN_OPTS": "1", "MXNET_ENGINE_TYPE": "NaiveEngine"}
# Per runtime, over the pins above. The tfjs runtime's TensorFlow converts for TFJS (and rebuilds TFJS
# sources, held to Node.js's outputs): tensorflowjs_converter runs TF's grappler, whose remapper, with oneDNN
# on, fuses ops only oneDNN has into the graph, such as a Conv2D with _FusedHardSwish, which no TFJS backend
# runs ("Activation _fusedhardswish has not been implemented"). TF reads the setting once, when imported.
RUNTIME_ENVIRONMENT = {"tfjs": {"TF_ENABLE_ONEDNN_OPTS": "0"}}


def pin_environment(image: str) -> None:
    """Set the pinned numerics of `image`'s stages, before any framework is imported (where the environment
    does not say otherwise)."""
    for name, value in {**PINNED_ENVIRONMENT, **RUNTIME_ENVIRONMENT.get(image, {})}.items():
        os.environ.setdefault(name, value)


def _tool_versions(names: list[str]) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _provenance(ctx: StageContext, module, config_text: str) -> dict:
    inputs = {}
    for bundle in ctx.inputs:
        for role, name in bundle.manifest.get("files", {}).items():
            path = bundle.path / name
            if path.is_file():
                inputs[f"{bundle.format}:{role}"] = sha256_file(path)
    return {
        "stage": ctx.impl.stage,
        "impl": ctx.impl.name,
        "image": ctx.impl.image,
        "runtime": os.environ.get("MODELFERRY_RUNTIME", "unknown"),
        "process": os.environ.get("MODELFERRY_PROCESS", "cold"),  # "warm": a fork of the runtime's worker
        "tools": _tool_versions(list(getattr(module, "TOOLS", ()))),
        "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(),
        "inputs": inputs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages")
    parser.add_argument("stage", choices=catalog.STAGES)
    parser.add_argument("impl")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--in", dest="inputs", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--idle", action="store_true", help="run at the lowest CPU priority")
    args = parser.parse_args(argv)
    if args.idle:  # before any thread starts: the threads a framework starts later inherit it
        os.setpriority(os.PRIO_PROCESS, 0, 19)

    try:
        impl = catalog.get(args.stage, args.impl)
        pin_environment(impl.image)  # in a fork of a warm worker, for the stage's own subprocesses
        config_text = args.config.read_text()
        config = json.loads(config_text)
        inputs = [Bundle.read(path) for path in args.inputs]
        args.out.mkdir(parents=True, exist_ok=True)
        if any(args.out.iterdir()):
            raise StageError(f"output directory {args.out} is not empty")
        module = importlib.import_module(impl.module)
        ctx = StageContext(impl=impl, config=config, inputs=inputs, out=args.out)
        manifest = module.run(ctx)
        manifest["provenance"] = _provenance(ctx, module, config_text)
        write_json_atomic(args.out / MANIFEST, stamped(manifest))
        return 0
    except StageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # an unexpected fault: keep the trace in the log tail
        traceback.print_exc()
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
