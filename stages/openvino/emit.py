"""emit/openvino: ONNX -> OpenVINO IR with openvino.convert_model and save_model, fp32 weights. The graph is
legalized first where a pass finds anything (a private copy): an If decided when the graph is built
(OpenVINO's converter needs every branch's ranks), a Clip with a computed bound (OpenVINO folds it into a
Clamp its own loader then refuses). The IR is loaded and compiled here: where OpenVINO's own loader refuses
what its converter wrote, the graph is converted again with its shape computations folded at the
signature's shapes (static-shapes, listed with the other passes in the manifest's `legalized`)."""

from __future__ import annotations

import shutil
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
    folder = ctx.out / FOLDER
    with tempfile.TemporaryDirectory(dir=ctx.out) as work:
        _convert(ov, _legalized(source.file("model"), manifest, Path(work), PASSES), manifest, folder, what)
        try:
            ir.IRModel(folder)
        except StageError as refused:  # OpenVINO wrote IR its own loader refuses: again at static shapes
            shutil.rmtree(folder)
            static = Path(work) / "static"
            static.mkdir()
            _convert(
                ov,
                _legalized(source.file("model"), manifest, static, (*PASSES, "static-shapes")),
                manifest,
                folder,
                what,
            )
            try:
                ir.IRModel(folder)
            except StageError:
                raise refused from None
    return {
        **manifest,
        "format": "openvino",
        "precision": "fp32",
        "files": {"model": FOLDER, **source.carry_to(ctx.out)},
        "metrics": {"bytes": ir.size(folder)},
    }


def _convert(ov, path: Path, manifest: dict, folder: Path, what: str) -> None:
    try:
        model = ov.convert_model(str(path))
    except Exception as exc:  # names the op it has no conversion for
        raise StageError(f"OpenVINO could not convert {what}: {ir.reason(exc)}") from None
    ir.check_names(model, manifest, what)
    ir.save(model, folder, fp16_weights=False)  # before the legalized copy is gone


def _legalized(path: Path, manifest: dict, work: Path, passes: tuple) -> Path:
    """`path`, or its legalized copy in `work` where a pass rewrote anything (recorded in the manifest)."""
    import onnx

    graph = onnx.load(str(path))
    legalized = legalize.apply(graph, passes, manifest["inputs"])
    if not legalized:
        return path
    manifest["legalized"] = {**manifest.get("legalized", {}), **legalized}
    onnx.save(graph, str(work / "model.onnx"))
    return work / "model.onnx"
