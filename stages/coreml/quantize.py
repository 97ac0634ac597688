"""quantize/coreml: fp16, the ML program computed in fp16 as `ct.convert(compute_precision=FLOAT16)` makes it.

The fp32 .mlpackage is read back into a MIL program and given coremltools' own fp16 compute-precision
pass (common::add_fp16_cast: weights stored in fp16, casts around every op that computes in fp16), then
saved. Inputs and outputs stay float32, named as before."""

from __future__ import annotations

import json
import os
import sys

from stages.context import StageContext
from stages.coreml.emit import PACKAGE, _summary
from stages.errors import StageError

TOOLS = ("coremltools", "numpy")


def _fp16(mlmodel):
    from coremltools.converters.mil.mil.passes.defs.quantization import FP16ComputePrecision
    from coremltools.models.utils import _apply_graph_pass

    return _apply_graph_pass(mlmodel, FP16ComputePrecision(op_selector=lambda op: True), skip_model_load=True)


MODES = {"fp16": _fp16}


def run(ctx: StageContext) -> dict:
    os.environ.setdefault("TQDM_DISABLE", "1")
    import coremltools as ct

    mode = ctx.option("mode")
    if mode not in MODES:
        raise StageError(f"unknown Core ML quantization mode {mode!r}; choose one of {', '.join(MODES)}")
    source = ctx.source
    manifest = source.inherited()
    fp32 = ct.models.MLModel(str(source.file("package")), skip_model_load=True)
    try:
        made = MODES[mode](fp32)
    except Exception as exc:  # noqa: BLE001 - coremltools' passes raise many types
        print(str(exc)[-4000:], file=sys.stderr)
        raise StageError(f"coremltools cannot make the {mode} Core ML program: {_summary(exc)}") from None
    folder = ctx.out / f"coreml_{mode}"
    folder.mkdir()
    made.save(str(folder / PACKAGE))
    names = json.loads(source.file("names").read_text())
    (folder / "names.json").write_text(json.dumps(names, indent=2) + "\n")
    program = made.get_spec().mlProgram.functions["main"]
    operations = program.block_specializations[program.opset].operations
    metrics = {
        "bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
        "operations": sum(1 for op in operations if op.type != "const"),
    }
    files = {"model": folder.name, "package": f"{folder.name}/{PACKAGE}", "names": f"{folder.name}/names.json"}
    return {
        **manifest,
        "format": "coreml",
        "precision": mode,
        "files": {**files, **source.carry_to(ctx.out)},
        "metrics": metrics,
    }
