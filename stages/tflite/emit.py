"""emit/tflite: ONNX -> TFLite fp32 with onnx2tf, keeping its SavedModel for quantize."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from stages.context import StageContext
from stages.errors import StageError
from stages.tflite import signature

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
            keep_nwc_or_nhwc_or_ndhwc_input_names=[s["name"] for s in inputs if s.get("layout") == "NHWC"] or None,
            output_signaturedefs=True,
            disable_group_convolution=portable,
            copy_onnx_input_output_names_to_tflite=True,
            non_verbose=True,
        )
    except SystemExit as exc:  # onnx2tf exits on some unsupported graphs
        raise StageError(f"onnx2tf could not convert {onnx_path.name} (exit {exc.code}); "
                         f"see the log tail for the op it stopped at") from None
    tflite = output / "model_float32.tflite"
    if not tflite.is_file():
        raise StageError(f"onnx2tf wrote no TFLite file for {onnx_path.name}")
    return output


def convert_into(onnx_path: Path, inputs: list[dict], out: Path, portable: bool = False,
                 keep_tflite: bool = True) -> None:
    """onnx2tf in a scratch directory; keeps out/saved_model and (keep_tflite) out/model_float32.tflite."""
    with tempfile.TemporaryDirectory(prefix="onnx2tf-") as tmp:
        work = Path(tmp)
        cwd = os.getcwd()
        os.chdir(work)  # onnx2tf writes scratch files into the working directory
        try:
            output = convert(onnx_path, work, inputs, portable)
        finally:
            os.chdir(cwd)
        if keep_tflite:
            shutil.copyfile(output / "model_float32.tflite", out / "model_float32.tflite")
        shutil.copytree(output, out / "saved_model", ignore=shutil.ignore_patterns("*.tflite", "*.onnx", "*.json"))


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    convert_into(source.file("model"), manifest["inputs"], ctx.out)
    inputs, outputs = signature.describe(ctx.out / "model_float32.tflite", manifest["inputs"],
                                         manifest["outputs"])
    files = {"model": "model_float32.tflite", "saved_model": "saved_model", **source.carry_to(ctx.out)}
    return {**manifest, "format": "tflite", "precision": "fp32", "files": files,
            "inputs": inputs, "outputs": outputs,
            "metrics": {"bytes": (ctx.out / "model_float32.tflite").stat().st_size}}
