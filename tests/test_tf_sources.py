"""TF-family sources: Keras (.keras, legacy .h5; safe mode) and SavedModel, TFLite without the ONNX detour."""

from __future__ import annotations

import pytest

from tests.conftest import latest_run, read_report, routes_as_documented, run_cli, snapshot


def test_keras_to_onnx_and_tflite_within_gates(env, keras_models, session_dir):
    out = session_dir / "from-keras"
    result = run_cli(
        env,
        "convert",
        str(keras_models / "digits.keras"),
        "--to",
        "onnx,tflite,savedmodel,tfjs",
        "--quantize",
        "fp16,int8",
        "--calibration",
        str(keras_models / "calib.npz"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "digits")
    report = read_report(run)
    assert report["source"]["format"] == "keras"
    got = {(a["target"], a["precision"]): a for a in report["artifacts"]}
    assert set(got) == {
        ("onnx", "fp32"),
        ("tflite", "fp32"),
        ("tflite", "fp16"),
        ("tflite", "int8"),
        ("savedmodel", "fp32"),
        ("tfjs", "fp32"),
        ("tfjs", "fp16"),
    }
    assert all(a["parity"]["passed"] for a in got.values())
    assert routes_as_documented(report) == []
    assert got[("tflite", "fp32")]["parity"]["max_abs_err"] < 1e-4
    # Keras is channels-last: no transposes anywhere.
    assert got[("tflite", "fp32")]["inputs"][0]["shape"] == [1, 8, 8, 1]
    stages = [f"{s['stage']}/{s['impl']}" for s in report["stages"]]
    assert "emit/keras-tflite" in stages and "emit/onnx2tf" not in stages  # no ONNX detour for TFLite
    assert "export/keras" in stages and "emit/keras-savedmodel" in stages
    # The SavedModel is published as a directory, validated in TensorFlow (validate/savedmodel).
    saved = got[("savedmodel", "fp32")]
    assert saved["path"] == "digits_savedmodel" and saved["parity"]["max_abs_err"] < 1e-5
    assert (run / "digits_savedmodel" / "saved_model.pb").is_file()
    assert "validate/savedmodel" in stages


def test_a_keras_model_with_a_dict_of_outputs(env, keras_models, tmp_path):
    """A functional model built with `outputs={name: tensor}` returns a dict: its keys are the outputs' names,
    in the golden outputs and in every artifact (load/keras once refused it: its one dict was zipped with two
    output names)."""
    out = tmp_path / "out"
    result = run_cli(
        env, "convert", str(keras_models / "two_ends.keras"), "--to", "savedmodel,tflite,onnx", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out, "two_ends"))
    assert {a["target"] for a in report["artifacts"]} == {"savedmodel", "tflite", "onnx"}
    for artifact in report["artifacts"]:
        assert artifact["parity"]["passed"], artifact
        names = [t.get("name_in_artifact", t["name"]) for t in artifact["outputs"]]
        assert sorted(names) == ["logits", "probabilities"], artifact


def test_legacy_h5(env, keras_models, session_dir):
    out = session_dir / "from-h5"
    result = run_cli(
        env,
        "convert",
        str(keras_models / "digits.h5"),
        "--to",
        "onnx,tflite",
        "--calibration",
        str(keras_models / "calib.npz"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(a["parity"]["passed"] for a in read_report(latest_run(out, "digits"))["artifacts"])


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_lambda_layer_is_refused_in_safe_mode(env, keras_models, tmp_path, name):
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(keras_models / name), "--to", "onnx", "--out", str(out))
    err = " ".join(result.stderr.split())
    assert result.returncode == 1
    assert f"[load/keras] {name} holds code that loading would run: identity_lambda (Lambda)" in err
    assert "--trust-custom-code" in err and snapshot(out) == {}


def test_lambda_layer_with_trust_custom_code(env, keras_models, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(keras_models / "lambda.keras"),
        "--to",
        "onnx",
        "--trust-custom-code",
        "--calibration",
        str(keras_models / "calib.npz"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_report(latest_run(out, "lambda"))["artifacts"][0]["parity"]["passed"]


def test_truncated_keras_file(env, keras_models, tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes((keras_models / "digits.keras").read_bytes()[:2000])
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(broken), "--to", "onnx", "--out", str(out))
    err = " ".join(result.stderr.split())
    assert result.returncode == 1 and "[load/keras] broken.keras is not a readable Keras .keras file" in err
    assert snapshot(out) == {}


def test_savedmodel_to_onnx_and_tflite(env, keras_models, session_dir):
    """A TF SavedModel directory: TF computes golden; TFLite straight from TF, ONNX with tf2onnx."""
    out = session_dir / "from-savedmodel"
    result = run_cli(
        env,
        "convert",
        str(keras_models / "digits_savedmodel"),
        "--to",
        "onnx,tflite,savedmodel",
        "--quantize",
        "int8",
        "--calibration",
        str(keras_models / "calib.npz"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out, "digits_savedmodel"))
    assert report["source"]["format"] == "savedmodel"
    assert {(a["target"], a["precision"]) for a in report["artifacts"]} == {
        ("onnx", "fp32"),
        ("tflite", "fp32"),
        ("tflite", "int8"),
        ("savedmodel", "fp32"),
    }
    assert all(a["parity"]["passed"] for a in report["artifacts"])
    assert routes_as_documented(report) == []
    stages = [f"{s['stage']}/{s['impl']}" for s in report["stages"]]
    assert "emit/savedmodel-tflite" in stages and "export/savedmodel" in stages
    # A TF source is its own SavedModel target: no conversion step, only validation in TF.
    assert not any(s.startswith("emit/") and "savedmodel" in s and s != "emit/savedmodel-tflite" for s in stages)


def test_mxnet_to_savedmodel_and_tfjs_is_channels_last(env, face, session_dir):
    """ONNX -> SavedModel with onnx2tf: NCHW source samples are fed NHWC, outputs compared in NCHW."""
    out = session_dir / "face-savedmodel"
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        "data:1,3,112,112",
        "--to",
        "savedmodel,tfjs",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "face")
    report = read_report(run)
    assert routes_as_documented(report) == []
    artifact, tfjs = report["artifacts"]
    assert tfjs["target"] == "tfjs" and tfjs["parity"]["passed"] and tfjs["parity"]["max_abs_err"] < 1e-4
    assert artifact["target"] == "savedmodel" and artifact["parity"]["passed"]
    assert artifact["parity"]["max_abs_err"] < 1e-4
    assert artifact["inputs"][0]["shape"] == [1, 112, 112, 3] and artifact["inputs"][0]["layout"] == "NHWC"
    assert (run / "face_savedmodel" / "saved_model.pb").is_file()


def test_savedmodel_unknown_signature(env, keras_models, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(keras_models / "digits_savedmodel"),
        "--signature",
        "predict_v2",
        "--to",
        "tflite",
        "--out",
        str(out),
    )
    err = " ".join(result.stderr.split())
    assert result.returncode == 1
    assert (
        "[load/savedmodel] digits_savedmodel has no signature 'predict_v2'; it has ['serve', 'serving_default']" in err
    )
    assert snapshot(out) == {}


def test_a_directory_that_is_not_a_savedmodel(env, tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    result = run_cli(env, "convert", str(folder), "--out", str(tmp_path / "out"))
    err = " ".join(result.stderr.split())
    assert result.returncode == 1 and "weights) not a model modelferry reads: it is neither TF1 checkpoint" in err
    assert "nor TF SavedModel (a folder with saved_model.pb)" in err
