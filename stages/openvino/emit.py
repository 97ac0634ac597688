"""emit/openvino: ONNX -> OpenVINO IR with openvino.convert_model and save_model, fp32 weights. The graph is
legalized first where a pass finds anything (a private copy): an If decided when the graph is built
(OpenVINO's converter needs every branch's ranks), a Clip with a computed bound (OpenVINO folds it into a
Clamp its own loader then refuses)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from stages.context import StageContext
from stages.errors import StageError
from stages.onnx import legalize
from stages.openvino import model as ir

TOOLS = ("openvino", "onnx", "numpy")
FOLDER = "openvino"
PASSES = ("constant-if", "clip-bounds")


def run(ctx: StageContext) -> dict:
    import openvino as ov

    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    with tempfile.TemporaryDirectory(dir=ctx.out) as work:
        path = _legalized(source.file("model"), manifest, Path(work))
        try:
            model = ov.convert_model(str(path))
        except Exception as exc:   # names the op it has no conversion for
            raise StageError(f"OpenVINO could not convert {what}: {ir.reason(exc)}") from None
        ir.check_names(model, manifest, what)
        ir.save(model, ctx.out / FOLDER, fp16_weights=False)   # before the legalized copy is gone
    return {**manifest, "format": "openvino", "precision": "fp32",
            "files": {"model": FOLDER, **source.carry_to(ctx.out)}, "metrics": {"bytes": ir.size(ctx.out / FOLDER)}}


def _legalized(path: Path, manifest: dict, work: Path) -> Path:
    """`path`, or its legalized copy in `work` where a pass rewrote anything (recorded in the manifest)."""
    import onnx

    graph = onnx.load(str(path))
    legalized = legalize.apply(graph, PASSES, manifest["inputs"])
    if not legalized:
        return path
    manifest["legalized"] = {**manifest.get("legalized", {}), **legalized}
    onnx.save(graph, str(work / "model.onnx"))
    return work / "model.onnx"
