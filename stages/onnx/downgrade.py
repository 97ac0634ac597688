"""emit/onnx-opset13: the ONNX graph at opset 13, for converters that read no newer one (onnx-tf 1.10).

ONNX's own version converter rewrites each op to its opset-13 form (ReduceMean-18's `axes` input back to
an attribute, …); where an op has no older form it refuses, naming the op. The result must still pass
onnx.checker, and it is a new format (`onnx-opset13`) so that only the converters that need it read it."""
from __future__ import annotations

import shutil

from stages.context import StageContext
from stages.errors import StageError

TOOLS = ("onnx",)
OPSET = 13


def default_opset(model) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def run(ctx: StageContext) -> dict:
    import onnx
    from onnx import version_converter

    source = ctx.source
    path = source.file("model")
    model = onnx.load(str(path))
    opset = default_opset(model)
    if opset <= OPSET:
        shutil.copyfile(path, ctx.out / "model.onnx")
    else:
        try:
            converted = version_converter.convert_version(model, OPSET)
            onnx.checker.check_model(converted)
        except Exception as exc:   # the converter raises RuntimeError/ValidationError/… naming the op
            cause = " ".join(str(exc).split())[:300]
            raise StageError(f"ONNX's version converter cannot take {ctx.user_file_name('model')} from opset "
                             f"{opset} to {OPSET}: {cause}") from None
        onnx.save(converted, str(ctx.out / "model.onnx"))
    return {**source.inherited(), "format": "onnx-opset13", "opset": OPSET,
            "files": {"model": "model.onnx", **source.carry_to(ctx.out)}, "metrics": {"opset_from": opset}}
