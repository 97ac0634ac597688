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
from stages.onnx import names
from stages.savedmodel import signature

KEY = SERVING_SIGNATURE
Converter = Callable[[Path, list[dict], list[dict], Path], dict[str, str] | None]


def emit(ctx: StageContext, converter: Converter, moved: bool = False, passes: tuple[str, ...] = ()) -> dict:
    """Run `converter` on the source bundle's ONNX graph, legalized by `passes` (stages/onnx/legalize); the
    SavedModel bundle's manifest, which records what the passes rewrote (`legalized`). The converter may
    return more files for the bundle (role -> name under ctx.out).

    No TFLite file is made here: TFLite's preferred route is onnx2tf 2's direct writer, and where the route
    goes through this SavedModel, emit/savedmodel-tflite converts it, a fork of the same warm runtime (an
    eager conversion here cost every SavedModel and TFJS artifact TF's converter: 2 s on MobileNetV2)."""
    source = ctx.source
    manifest = source.inherited()
    with tempfile.TemporaryDirectory(prefix="safe-names-") as tmp:
        path, inputs, outputs, legalized = names.safe_copy(
            source.file("model"), Path(tmp) / "model.onnx", manifest["inputs"], manifest["outputs"], passes
        )
        extra = converter(path, inputs, outputs, ctx.out / "saved_model") or {}
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
