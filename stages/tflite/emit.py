"""emit/tflite: ONNX -> TFLite fp32 with onnx2tf, keeping its SavedModel for quantize.

Names: onnx2tf rejects ONNX names that are not TF scope names (`Softmax@0`),
so it converts a copy with safe names (stages/onnx/names.py); its SavedModel
is then signed with the model's names (stages/savedmodel/resign.py) and the
fp32 TFLite file is made from it by TF's converter, as the quantized files
are, so every TFLite file's signature runner takes and returns the source's
names."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from stages import layout as layouts
from stages.context import StageContext
from stages.errors import StageError
from stages.onnx import names
from stages.savedmodel.resign import resign
from stages.tflite import signature
from stages.tflite.convert import from_saved_model

TOOLS = ("onnx2tf", "tensorflow-cpu", "onnx", "ai-edge-litert")


# onnx2tf downloads this sample image file from the internet unless it is in
# the working directory; stages have no network, so provide it.
ONNX2TF_SAMPLE = "calibration_image_sample_data_20x128x128x3_float32.npy"


def convert(onnx_path: Path, work: Path, inputs: list[dict], portable: bool = False) -> Path:
    """onnx2tf's SavedModel and fp32 TFLite. `portable`: no grouped convolutions (TF runs them,
    TFJS does not: "depth of input must match input depth for filter")."""
    import onnx2tf

    rng = np.random.default_rng(0)
    np.save(work / ONNX2TF_SAMPLE, rng.uniform(0, 1, (20, 128, 128, 3)).astype(np.float32))
    # onnx2tf runs onnxsim on its input in place: give it a copy.
    model = work / "model.onnx"
    if onnx_path != model:
        shutil.copyfile(onnx_path, model)
    # onnx2tf finds onnxsim through PATH; make sure it is this runtime's.
    bin_dir = str(Path(os.sys.executable).parent)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    output = work / "saved_model"
    try:
        onnx2tf.convert(
            input_onnx_file_path=str(model),
            output_folder_path=str(output),
            overwrite_input_shape=[f"{spec['name']}:{','.join(map(str, spec['shape']))}" for spec in inputs],
            # onnx2tf takes 4-D inputs for NCHW and moves channels last; an ONNX graph exported
            # from TF, Keras or TFLite is channels-last already and must stay so.
            keep_nwc_or_nhwc_or_ndhwc_input_names=[s["name"] for s in inputs
                                                   if layouts.is_channels_last(s.get("layout"))] or None,
            # and a 3-5-D tensor with no channel axis (a state [2, batch, 128]) as it is
            keep_ncw_or_nchw_or_ncdhw_input_names=[s["name"] for s in inputs
                                                   if s.get("layout") is None and 3 <= len(s["shape"]) <= 5] or None,
            output_signaturedefs=True,
            disable_group_convolution=portable,
            copy_onnx_input_output_names_to_tflite=True,
            non_verbose=True,
        )
    except SystemExit as exc:  # onnx2tf exits on some unsupported graphs
        raise StageError(f"onnx2tf could not convert {onnx_path.name} (exit {exc.code}); "
                         f"run with -v for the log, which names the op it stopped at") from None
    except Exception as exc:  # onnx2tf raises whatever the TF op it builds raises
        import traceback

        traceback.print_exc()
        raise StageError(f"onnx2tf could not convert the model: {onnx2tf_reason(exc)}") from None
    if not (output / "saved_model.pb").is_file():
        raise StageError(f"onnx2tf wrote no SavedModel for {onnx_path.name}")
    return output


LAYER = re.compile(r'calling layer "(?P<layer>[^"]+)"')
NODE = re.compile(r"name='(?P<node>[^']+)'")


def onnx2tf_reason(exc: BaseException) -> str:
    """One line from an onnx2tf failure: the TF layer and ONNX node it stopped at, and why."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    cause = next((line for line in lines if not line.startswith(("Exception encountered", "Call arguments", "•"))),
                 type(exc).__name__)
    cause = cause.split(" for '{{node ")[0]   # TF repeats the node's whole definition after this
    layer, node = LAYER.search(text), NODE.search(text)
    where = " ".join(part for part in (f"layer {layer['layer']}" if layer else "",
                                       f"(ONNX node {node['node']})" if node else "") if part)
    return f"{where}: {cause}"[:400] if where else cause[:400]


def convert_into(onnx_path: Path, inputs: list[dict], outputs: list[dict], out: Path,
                 portable: bool = False) -> tuple[list[dict], list[dict]]:
    """onnx2tf in a scratch directory; keeps out/saved_model, signed with the ONNX graph's names.
    Returns the manifest's inputs and outputs named as in that SavedModel (safe names)."""
    with tempfile.TemporaryDirectory(prefix="onnx2tf-") as tmp:
        work = Path(tmp)
        model, safe_inputs, safe_outputs = names.safe_copy(onnx_path, work / "safe.onnx", inputs, outputs)
        cwd = os.getcwd()
        os.chdir(work)  # onnx2tf writes scratch files into the working directory
        try:
            output = convert(model, work, safe_inputs, portable)
        finally:
            os.chdir(cwd)
        kept = work / "kept"
        shutil.copytree(output, kept, ignore=shutil.ignore_patterns("*.tflite", "*.onnx", "*.json"))
        resign(kept, out / "saved_model", "serving_default", safe_outputs)
    return safe_inputs, safe_outputs




def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    safe_inputs, safe_outputs = convert_into(source.file("model"), manifest["inputs"], manifest["outputs"], ctx.out)
    size = from_saved_model(ctx.out / "saved_model", ctx.out / "model_float32.tflite",
                            f"onnx2tf's SavedModel of {ctx.user_file_name('model')}")
    inputs, outputs = signature.describe(ctx.out / "model_float32.tflite", safe_inputs, safe_outputs, moved=True)
    files = {"model": "model_float32.tflite", "saved_model": "saved_model", **source.carry_to(ctx.out)}
    return {**manifest, "format": "tflite", "precision": "fp32", "files": files,
            "inputs": inputs, "outputs": outputs, "metrics": {"bytes": size}}
