"""Real trained models from PyPI wheels (bench/zoo: pinned by version and sha256), a representative few.

The whole zoo to every target is `make bench-zoo`; here: a classifier whose ONNX names onnx2tf rejects,
a SavedModel with two outputs of one shape, int64 and recurrent inputs, a BERT-style encoder to TFLite,
a TorchScript network built from the wheel's own module code, a folder of pictures as samples, and task
agreement on real photographs (scikit-image's, from its wheel).
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.zoo import fetch
from bench.zoo.catalog import BY_NAME, PICTURES
from tests.conftest import convert_zoo, latest_run, run_cli


def test_onnx_names_that_are_not_tf_scopes_convert_and_keep_the_models_names(env, tmp_path):
    """PaddleOCR's direction classifier has nodes named `Softmax@0`: onnx2tf alone fails on it."""
    result, report = convert_zoo(env, "rapidocr-cls", tmp_path / "out", "--to", "tflite", "--quantize", "fp16")
    assert result.returncode == 0, result.stderr[-3000:]
    by = {a["precision"]: a for a in report["artifacts"]}
    assert by["fp32"]["parity"]["max_abs_err"] < 1e-4 and by["fp16"]["published"]
    for artifact in by.values():
        assert [t["name"] for t in artifact["inputs"] + artifact["outputs"]] == ["x", "save_infer_model/scale_0.tmp_1"]
    assert "(pixel - [127.5]) / [127.5], BGR" in report["samples"]["samples"]


def test_outputs_of_one_shape_are_matched_by_name(env, tmp_path):
    """basic-pitch's SavedModel: note and onset are both [1, 172, 88]; paired by position they differ."""
    result, report = convert_zoo(env, "basic-pitch-savedmodel", tmp_path / "out", "--to", "tflite,tfjs")
    assert result.returncode == 0, result.stderr[-3000:]
    for artifact in report["artifacts"]:
        names = sorted(t["name"] for t in artifact["outputs"])
        assert names == ["contour", "note", "onset"], artifact["outputs"]
        assert not any("matched_by" in t for t in artifact["outputs"])
        # within the fp32 gate; TFJS' wasm backend sums the constant-Q transform in another order (1.2e-4)
        assert artifact["published"] and artifact["parity"]["passed"] and artifact["parity"]["max_abs_err"] < 3e-4


def test_int64_scalar_and_recurrent_state_of_a_real_model(env, tmp_path):
    """silero-vad: `sr` int64 scalar (bound to 16000), `state` [2, batch, 128]. To TFLite, onnx2tf 2's direct
    file does not run in LiteRT, and onnx2tf 1 fails in one of its If branches, naming the node; the next
    route, modelferry's own translation (the If decided when the graph is built, its LSTM unrolled), makes a
    TFLite file that passes."""
    result, report = convert_zoo(env, "silero-vad", tmp_path / "out", "--to", "onnx")
    assert result.returncode == 0, result.stderr[-3000:]
    onnx = report["artifacts"][0]
    assert [i["name"] for i in onnx["inputs"]] == ["input", "state"] and onnx["inputs"][1]["batch_axis"] == 1
    assert onnx["parity"]["max_abs_err"] == 0

    as_a_user = {k: v for k, v in env.items() if k != "PREFECT_LOGGING_LEVEL"}  # the CLI's own quiet default
    result, report = convert_zoo(as_a_user, "silero-vad", tmp_path / "tflite", "--to", "tflite")
    assert result.returncode == 0, result.stderr[-3000:]
    (tflite,) = report["artifacts"]
    direct = tflite["attempts"][0]  # onnx2tf 2's file: LiteRT's XNNPack delegate cannot prepare one of its nodes
    assert direct["route"] == "load/onnx → emit/onnx2tf-direct" and direct["stage"] == "validate/tflite"
    assert "XNNPack delegate failed to reshape" in direct["reason"]
    failed = next(a for a in tflite["attempts"] if a["route"] == "load/onnx → emit/onnx2tf → emit/savedmodel-tflite")
    assert failed["outcome"] == "stage failed" and failed["stage"] == "emit/onnx2tf"
    assert "ONNX node If_0_then_branch__Inline_0__/decoder/Squeeze (Squeeze)" in failed["reason"]
    assert tflite["route"] == "load/onnx → emit/onnx-tfops → emit/savedmodel-tflite"
    assert tflite["published"] and tflite["parity"]["max_abs_err"] < 1e-4
    assert "made by a fallback route" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_bert_style_encoder_reaches_tflite_and_tfjs(env, tmp_path):
    """all-MiniLM-L6-v2 as TorchScript (int64 ids and mask, exact GELU, L2-normalized output). onnx2tf made
    ReduceL2 a tf.norm it could not build, and TFLite has no Erf: the ONNX legalization passes rewrite the
    ReduceL2 as Sqrt(ReduceSumSquare) and each GELU in the form TFLite fuses into its GELU builtin (Erf kept
    for TFJS), and onnx2tf's own route makes both, within the fp32 gate; the report says what was rewritten."""
    result, report = convert_zoo(env, "minilm-pt", tmp_path / "out", "--to", "tflite,tfjs")
    assert result.returncode == 0, result.stderr[-3000:]
    for artifact in report["artifacts"]:
        assert artifact["published"], artifact.get("reason")
        assert "emit/onnx2tf" in artifact["route"]
        assert artifact["legalized"]["reduce-l2"] == 1 and artifact["legalized"]["gelu"] >= 6
        assert [t["name"] for t in artifact["inputs"]] == ["input_ids", "attention_mask"]


def test_torchscript_built_from_the_wheels_own_code_and_weights(env, tmp_path):
    """facenet-pytorch's trained MTCNN ONet (PReLU, ceil-mode pooling, three outputs), traced from its code."""
    result, report = convert_zoo(env, "mtcnn-onet-pt", tmp_path / "out", "--to", "onnx,tflite")
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(a["published"] and a["parity"]["max_abs_err"] < 1e-4 for a in report["artifacts"])
    assert {tuple(t["shape"]) for t in report["artifacts"][0]["outputs"]} == {(1, 4), (1, 2), (1, 10)}


def test_a_folder_of_pictures_as_samples(env, face, tmp_path):
    """Pictures of any size, resized to the model's 48x192, BGR, (pixel - 127.5) / 127.5."""
    from PIL import Image

    digits = np.load(face / "labels.npz")["data"][:6]  # N, 3, 112, 112 in 0..255
    folder = tmp_path / "pictures"
    folder.mkdir()
    for index, digit in enumerate(digits):
        Image.fromarray(np.ascontiguousarray(digit.transpose(1, 2, 0)).astype(np.uint8)).save(folder / f"{index}.png")
    result, report = convert_zoo(env, "rapidocr-cls", tmp_path / "out", "--to", "onnx", "--samples", str(folder))
    assert result.returncode == 0, result.stderr[-3000:]
    assert report["samples"]["synthetic"] is False
    assert report["samples"]["samples"].startswith("6 pictures resized to 48x192")


@pytest.mark.parametrize(
    "name, cause",
    [
        ("mediapipe-pose-detection", "its weights are stored sparse and expanded at run time by a DENSIFY op (node "),
        (
            "mediapipe-selfie-segmentation",
            "it holds the custom op Convolution2DTransposeBias (node 'segment'), which tf2onnx does not read",
        ),
    ],
)
def test_what_tf2onnx_cannot_read_in_a_tflite_file_is_named(env, tmp_path, name, cause):
    result, report = convert_zoo(env, name, tmp_path / "out", "--to", "onnx")
    assert result.returncode == 1
    error = next(line for line in result.stderr.splitlines() if line.startswith("error: "))
    assert "[export/tflite]" in error and cause in error


@pytest.mark.slow
def test_the_own_translations_savedmodel_holds_its_weights_once_as_variables(env, tmp_path):
    """paraphrase-MiniLM (69 MB of ONNX) through modelferry's own ONNX → TF translation: its weights are the
    SavedModel's variables, each once (saved_model.pb held them as constants, and the SavedModel was 138 MB,
    near protobuf's 2 GB limit at 1 GB of weights); within the fp32 gate."""
    result, report = convert_zoo(
        env, "paraphrase-minilm-onnx", tmp_path / "out", "--to", "savedmodel", "--via", "onnx-tfops"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["route"] == "load/onnx → emit/onnx-tfops"
    folder = latest_run(tmp_path / "out") / artifact["path"]
    weights = fetch.source(BY_NAME["paraphrase-minilm-onnx"], download=False).stat().st_size
    graph = (folder / "saved_model.pb").stat().st_size
    variables = sum(p.stat().st_size for p in (folder / "variables").iterdir())
    assert graph < 0.05 * weights and 0.95 * weights < variables < 1.05 * weights, (graph, variables, weights)
    script = (
        "import sys; from tensorflow.core.protobuf import saved_model_pb2 as s; m = s.SavedModel(); "
        "m.ParseFromString(open(sys.argv[1], 'rb').read()); "
        "print(sorted(f.signature.name.split('_')[3] for f in m.meta_graphs[0].graph_def.library.function "
        "if f.signature.name.startswith('__inference_serve')))"
    )
    result = run_cli(env, "runtime", "exec", "tf", "--", "python", "-c", script, str(folder / "saved_model.pb"))
    assert result.returncode == 0 and result.stdout.strip() == "['serve']", result.stdout + result.stderr[-2000:]


def test_a_detectors_boxes_are_read_for_task_agreement(env, tmp_path):
    """ddddocr's YOLOX ([1, 3549, 6]: cx, cy, w, h, objectness, class) is read as a detector's output under
    --task detect; on made-up pictures the source scores no box, and the report says so rather than
    claiming an agreement; on photographs it scores hundreds, each matched by the TFLite artifact's."""
    result, report = convert_zoo(
        env, "ddddocr-det", tmp_path / "out", "--to", "tflite", "--task", "detect", "--profile", "0"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    task = report["artifacts"][0]["parity"]["task"]
    assert task["task"] == "detect" and task["outputs"]["output"] == {
        "boxes": 0,
        "why": "the source scores no box at 0.25 or more on these samples",
    }
    result, report = convert_zoo(
        env,
        "ddddocr-det",
        tmp_path / "pictures",
        "--to",
        "tflite",
        "--task",
        "detect",
        "--profile",
        "0",
        "--samples",
        str(fetch.source(PICTURES, download=False)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = report["artifacts"][0]["parity"]["task"]["outputs"]["output"]  # photographs: boxes to match
    assert found["boxes"] > 50 and found["boxes_matched"] == 1.0 and found["score_delta_max"] < 1e-3, found


def test_a_segmenters_masks_agree_on_real_pictures(env, tmp_path):
    """MediaPipe's selfie segmenter (TFJS, a [1, 256, 256, 1] mask, channels last) on scikit-image's
    photographs, scaled into its --input-range as made-up pictures are: the source finds people (a quarter
    of the pixels), and the ONNX artifact's masks are the source's."""
    pictures = fetch.source(PICTURES, download=False)
    result, report = convert_zoo(
        env,
        "human-selfie",
        tmp_path / "out",
        "--to",
        "onnx",
        "--task",
        "segment",
        "--samples",
        str(pictures),
        "--profile",
        "0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert report["samples"]["samples"] == "8 pictures resized to 256x256, scaled to [0, 1]"
    measured = report["artifacts"][0]["parity"]["task"]["outputs"]["activation_10"]
    assert 0.1 < measured["foreground"] < 0.5 and measured["mask_iou_min"] > 0.99, measured
    page = (latest_run(tmp_path / "out") / "report.html").read_text()
    assert "segment: activation_10: mask IoU mean 1, mask IoU min 1, source foreground 0." in page
