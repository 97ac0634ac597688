"""What every ONNX -> SavedModel converter stage shares: the graph with TF-safe names, then the bundle.

A converter is a function (safe ONNX path, inputs, outputs, SavedModel dir) that writes the SavedModel
with signature `serving_default` taking and returning the graph's (safe) names; `moved` says whether it
moves channels last (onnx2tf) or keeps ONNX's layouts (modelferry's translation, onnx-tf)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from stages.context import StageContext
from stages.contract import SERVING_SIGNATURE
from stages.errors import StageError
from stages.onnx import names
from stages.savedmodel import signature
from stages.tflite.convert import from_saved_model

KEY = SERVING_SIGNATURE
TFLITE = "model_float32.tflite"
Converter = Callable[[Path, list[dict], list[dict], Path], dict[str, str] | None]


def emit(
    ctx: StageContext, converter: Converter, moved: bool = False, tflite: bool = False, passes: tuple[str, ...] = ()
) -> dict:
    """Run `converter` on the source bundle's ONNX graph, legalized by `passes` (stages/onnx/legalize); the
    SavedModel bundle's manifest, which records what the passes rewrote (`legalized`). The converter may
    return more files for the bundle (role -> name under ctx.out).

    `tflite`: also make the fp32 TFLite file from the SavedModel now, with TF's converter (TF is loaded
    already); emit/savedmodel-tflite then takes it instead of starting TF again. Where TF's converter
    fails here, the bundle has none and emit/savedmodel-tflite says why."""
    source = ctx.source
    manifest = source.inherited()
    with tempfile.TemporaryDirectory(prefix="safe-names-") as tmp:
        path, inputs, outputs, legalized = names.safe_copy(
            source.file("model"), Path(tmp) / "model.onnx", manifest["inputs"], manifest["outputs"], passes
        )
        extra = converter(path, inputs, outputs, ctx.out / "saved_model") or {}
    if tflite:
        try:
            from_saved_model(ctx.out / "saved_model", ctx.out / TFLITE, ctx.user_file_name("model"), KEY)
            extra["tflite"] = TFLITE
        except StageError:
            pass
    inputs, outputs = signature.describe(ctx.out / "saved_model", KEY, inputs, outputs, moved=moved)
    return {
        **manifest,
        "format": "savedmodel",
        "precision": "fp32",
        "signature": KEY,
        "files": {"model": "saved_model", **extra, **source.carry_to(ctx.out)},
        "inputs": inputs,
        "outputs": outputs,
        "metrics": {"signature": KEY},
        **({"legalized": legalized} if legalized else {}),
    }
