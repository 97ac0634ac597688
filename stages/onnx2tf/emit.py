"""emit/onnx2tf: ONNX -> TF SavedModel, channels-last, with onnx2tf; TFLite and TFJS are made from it.

Names: onnx2tf rejects ONNX names that are not TF scope names (`Softmax@0`), so it converts a copy
with safe names (stages/onnx/names.py), and the SavedModel's signature takes and returns them.

One onnx2tf run serves the SavedModel and TFLite targets. TFJS has no grouped convolutions ("depth of
input must match input depth for filter"): where the route goes on to TFJS (`portable`) and the SavedModel
has one, a second SavedModel with them split goes into the bundle as `portable_model`. onnx2tf makes most
of the ONNX graph's depthwise convolutions (group > 1) depthwise ones of TF, which TFJS runs, and some
grouped ones (seen: BlazeFace from TFLite, "depth of input (24) must match input depth for filter 1" in
TFJS): the SavedModel's own convolutions decide (convert.grouped_convolutions), not the ONNX graph's. A
second onnx2tf run with them split cost PP-OCRv4's recognizer 115 s, which has none in its SavedModel.

A route's `settings` (the registry row's) pass other onnx2tf options: stages/onnx2tf/convert.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from stages.context import StageContext
from stages.onnx2tf import convert
from stages.savedmodel import from_onnx

TOOLS = ("onnx2tf", "tensorflow-cpu", "tf-keras", "onnx")
# onnx2tf makes ReduceL2 a tf.norm that takes no one-axis list, and GELU into ops TFLite or TFJS lack
PASSES = ("gelu", "reduce-l2")


def saved_model(onnx_path: Path, inputs: list[dict], outputs: list[dict], out: Path, settings: dict) -> int:
    """onnx2tf's SavedModel of the graph; how many of its convolutions are grouped."""
    with tempfile.TemporaryDirectory(prefix="onnx2tf-") as tmp:
        model = convert.build(onnx_path, Path(tmp), convert.onnx2tf_options(inputs, settings))
        return convert.save(model, out, [spec["name"] for spec in inputs], [spec["name"] for spec in outputs])


def run(ctx: StageContext) -> dict:
    settings = ctx.option("settings", {})

    def both(path: Path, inputs: list[dict], outputs: list[dict], out: Path) -> dict[str, str]:
        grouped = saved_model(path, inputs, outputs, out, settings)
        if (
            ctx.option("portable")
            and not settings.get("disable_group_convolution")
            and grouped
            and convert.has_grouped_convolution(path)
        ):
            saved_model(
                path, inputs, outputs, ctx.out / "portable_model", {**settings, "disable_group_convolution": True}
            )
            return {"portable_model": "portable_model"}
        return {}

    return from_onnx.emit(ctx, both, moved=True, passes=PASSES)
