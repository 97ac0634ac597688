"""emit/openvino: ONNX -> OpenVINO IR with openvino.convert_model and save_model, fp32 weights."""
from __future__ import annotations

from stages.context import StageContext
from stages.errors import StageError
from stages.openvino import model as ir

TOOLS = ("openvino", "onnx", "numpy")
FOLDER = "openvino"


def run(ctx: StageContext) -> dict:
    import openvino as ov

    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    try:
        model = ov.convert_model(str(source.file("model")))
    except Exception as exc:   # names the op it has no conversion for
        raise StageError(f"OpenVINO could not convert {what}: {ir.reason(exc)}") from None
    ir.check_names(model, manifest, what)
    ir.save(model, ctx.out / FOLDER, fp16_weights=False)
    return {**manifest, "format": "openvino", "precision": "fp32",
            "files": {"model": FOLDER, **source.carry_to(ctx.out)}, "metrics": {"bytes": ir.size(ctx.out / FOLDER)}}
