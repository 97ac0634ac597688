"""onnx2tf: an ONNX graph -> a TF SavedModel (channels-last), signed with the graph's own names.

onnx2tf builds a tf_keras model op by op (a few seconds on MobileNetV2). Left to save it, it then
spends ~90 % of its time on tf_keras' legacy SavedModel metadata (JSON of the whole network config,
once per layer) for its SavedModel and for each of the two TFLite files it writes: 37 s of 41 s
measured on MobileNetV2. So it only builds (`disable_model_save`), and the SavedModel is written here
with tf_keras' ExportArchive, which saves the traced function and the variables and no metadata;
the TFLite files are then made from that SavedModel by TF's own converter (stages/tflite/convert.py).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np

from stages import layout as layouts
from stages.contract import SERVING_SIGNATURE
from stages.errors import StageError
from stages.onnx2tf import simplify

# onnx2tf downloads this sample image file from the internet unless it is in
# the working directory; stages have no network, so provide it.
ONNX2TF_SAMPLE = "calibration_image_sample_data_20x128x128x3_float32.npy"
SIGNATURE = SERVING_SIGNATURE


def kept_layouts(inputs: list[dict]) -> tuple[list[str], list[str]]:
    """The inputs onnx2tf (1 and 2) must keep as they are: it takes 3-5-D inputs for channels-first and
    moves channels last, but an ONNX graph exported from TF, Keras or TFLite is channels-last already
    (the first list), and a 3-5-D tensor with no channel axis (a state [2, batch, 128]) has none to move
    (the second)."""
    return (
        [s["name"] for s in inputs if layouts.is_channels_last(s.get("layout"))],
        [s["name"] for s in inputs if s.get("layout") is None and 3 <= len(s["shape"]) <= 5],
    )


def onnx2tf_options(inputs: list[dict], settings: dict) -> dict:
    """onnx2tf.convert's keyword arguments for the model's inputs and a route's settings."""
    channels_last, no_channels = kept_layouts(inputs)
    options = dict(
        overwrite_input_shape=[f"{spec['name']}:{','.join(map(str, spec['shape']))}" for spec in inputs],
        keep_nwc_or_nhwc_or_ndhwc_input_names=channels_last or None,
        keep_ncw_or_nchw_or_ncdhw_input_names=no_channels or None,
        output_signaturedefs=True,
        copy_onnx_input_output_names_to_tflite=True,
        non_verbose=True,
        disable_model_save=True,
    )
    for name in (
        "disable_strict_mode",
        "not_use_onnxsim",
        "disable_group_convolution",
        "enable_rnn_unroll",
        "enable_batchmatmul_unfold",
    ):
        if settings.get(name):
            options[name] = True
    if settings.get("replace_to_pseudo_operators"):
        options["replace_to_pseudo_operators"] = list(settings["replace_to_pseudo_operators"])
    return options


def build(onnx_path: Path, work: Path, options: dict):
    """onnx2tf's tf_keras model of `onnx_path` (a scratch copy: onnx2tf simplifies its input in place)."""
    import onnx2tf

    np.save(work / ONNX2TF_SAMPLE, np.random.default_rng(0).uniform(0, 1, (20, 128, 128, 3)).astype(np.float32))
    model = work / "model.onnx"
    if onnx_path != model:
        shutil.copyfile(onnx_path, model)
    if not options.get("not_use_onnxsim") and simplify.applies(model):
        simplify.run(model, options["overwrite_input_shape"])  # as onnx2tf would, without its processes
        options = {**options, "not_use_onnxsim": True}
    # onnx2tf finds onnxsim through PATH; make sure it is this runtime's.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    cwd = os.getcwd()
    os.chdir(work)  # onnx2tf writes scratch files into the working directory
    try:
        return onnx2tf.convert(input_onnx_file_path=str(model), output_folder_path=str(work / "onnx2tf"), **options)
    except SystemExit as exc:  # onnx2tf exits on some unsupported graphs
        raise StageError(
            f"onnx2tf could not convert {onnx_path.name} (exit {exc.code}); "
            f"run with -v for the log, which names the op it stopped at"
        ) from None
    except Exception as exc:  # onnx2tf raises whatever the TF op it builds raises
        import traceback

        traceback.print_exc()
        raise StageError(f"onnx2tf could not convert the model: {reason(exc)}") from None
    finally:
        os.chdir(cwd)


def save(model, out: Path, input_names: list[str], output_names: list[str]) -> int:
    """The model as a SavedModel whose serving signature takes and returns tensors by these names
    (the graph's own, in the graph's order: onnx2tf builds inputs and outputs in that order). Returns how
    many of the signature's convolutions are grouped (`grouped_convolutions`)."""
    import tensorflow as tf
    import tf_keras

    if len(model.inputs) != len(input_names) or len(model.outputs) != len(output_names):
        raise StageError(
            f"onnx2tf's model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            f"the graph has {len(input_names)} and {len(output_names)}"
        )

    def serve(*tensors):
        results = model(list(tensors) if len(tensors) > 1 else tensors[0])
        results = results if isinstance(results, (list, tuple)) else [results]
        return {name: tf.identity(value, name=name) for name, value in zip(output_names, results, strict=True)}

    archive = tf_keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        SIGNATURE,
        serve,
        input_signature=[
            tf.TensorSpec(tensor.shape, tensor.dtype, name)
            for tensor, name in zip(model.inputs, input_names, strict=True)
        ],
    )
    archive.write_out(str(out))
    if not (out / "saved_model.pb").is_file():
        raise StageError("onnx2tf's model could not be saved as a SavedModel")
    return grouped_convolutions(getattr(archive, SIGNATURE).get_concrete_function())  # the trace just saved


def grouped_convolutions(function) -> int:
    """How many convolutions of a traced TF function are grouped: their input's depth is not their filter's
    (TF runs them, TFJS does not). One whose input depth is not known counts."""
    grouped = 0
    for op in function.graph.get_operations():
        if op.type in ("Conv2D", "Conv3D"):
            channels_last = op.get_attr("data_format") in (b"NHWC", b"NDHWC")
            depth = op.inputs[0].shape[-1 if channels_last else 1]
            grouped += depth is None or depth != op.inputs[1].shape[-2]
    return grouped


def has_grouped_convolution(onnx_path: Path) -> bool:
    """Whether the graph has a Conv with group > 1 (depthwise ones too): only then can onnx2tf's SavedModel
    have a grouped convolution."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    return any(
        node.op_type == "Conv" and next((a.i for a in node.attribute if a.name == "group"), 1) > 1
        for node in model.graph.node
    )


LAYER = re.compile(r'calling layer "(?P<layer>[^"]+)"')
NODE = re.compile(r"name='(?P<node>[^']+)'")


def failing_node(exc: BaseException) -> tuple[str, str] | None:
    """(op type, name) of the ONNX node onnx2tf was converting when it failed: every op handler runs
    with the node as its `graph_node` argument, so the innermost traceback frame holding one has it."""
    found, tb = None, exc.__traceback__
    while tb is not None:
        node = tb.tb_frame.f_locals.get("graph_node")
        if hasattr(node, "op") and hasattr(node, "name"):
            found = (str(node.op), str(node.name))
        tb = tb.tb_next
    return found


def reason(exc: BaseException) -> str:
    """One line from an onnx2tf failure: the ONNX node (op type and name) and TF layer it stopped at, and why."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    cause = next((line for line in lines if not line.startswith(("Exception encountered", "Call arguments", "•"))), "")
    cause = cause.split(" for '{{node ")[0]  # TF repeats the node's whole definition after this
    if not cause or cause in ("''", '""'):
        cause = f"{type(exc).__name__} {text!r}" if text.strip("'\" ") else type(exc).__name__
    layer, node = LAYER.search(text), failing_node(exc)
    named = (
        f"ONNX node {node[1]} ({node[0]})"
        if node
        else (f"ONNX node {NODE.search(text)['node']}" if NODE.search(text) else "")
    )
    where = ", ".join(part for part in (named, f"layer {layer['layer']}" if layer else "") if part)
    return f"{where}: {cause}"[:400] if where else cause[:400]
