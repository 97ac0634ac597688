"""quantize/ncnn: fp16 — pnnx's fp16 weights from the same ONNX graph (or modelferry's, where it wrote the
fp32 files), run with fp16 storage and
arithmetic on (the fp16 gate applies). ncnn's int8 tools (ncnn2table, ncnn2int8) are not in the wheels."""

from __future__ import annotations

import json

from stages.context import StageContext
from stages.errors import StageError
from stages.ncnn import own
from stages.ncnn.emit import make
from stages.ncnn.files import NAMES

TOOLS = ("pnnx", "ncnn", "numpy")
MODES = ("fp16",)


def run(ctx: StageContext) -> dict:
    mode = ctx.option("mode")
    if mode not in MODES:
        raise StageError(f"unknown ncnn quantization mode {mode!r}; choose one of {', '.join(MODES)}")
    if ctx.source.manifest.get("writer") == own.WRITER:  # written layer by layer: again, with fp16 weights
        return own.make(ctx, ctx.source.file("onnx"), fp16=True, folder_name=f"ncnn_{mode}")
    names = json.loads((ctx.source.file("model") / NAMES).read_text())
    return make(ctx, ctx.source.file("onnx"), fp16=True, folder_name=f"ncnn_{mode}", names=names)
