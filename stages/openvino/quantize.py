"""quantize/openvino: fp16, the IR with its weights compressed to fp16 (save_model's compress_to_fp16);
it runs, and is validated, with f32 inference precision, as the CPU plugin runs it by default."""
from __future__ import annotations

from stages.context import StageContext
from stages.errors import StageError
from stages.openvino import model as ir

TOOLS = ("openvino", "numpy")
MODES = ("fp16",)


def run(ctx: StageContext) -> dict:
    import openvino as ov

    mode = ctx.option("mode")
    if mode not in MODES:
        raise StageError(f"unknown OpenVINO quantization mode {mode!r}; choose one of {', '.join(MODES)}")
    source = ctx.source
    manifest = source.inherited()
    model = ov.Core().read_model(str(source.file("model") / ir.XML))
    folder = ctx.out / f"openvino_{mode}"
    ir.save(model, folder, fp16_weights=True)
    return {**manifest, "format": "openvino", "precision": mode,
            "files": {"model": folder.name, **source.carry_to(ctx.out)}, "metrics": {"bytes": ir.size(folder)}}
