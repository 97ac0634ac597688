"""Frozen TF GraphDef (.pb) and TFLite files as sources, and their bad inputs."""

from __future__ import annotations

import pytest

from tests.conftest import latest_run, read_report, routes_as_documented, run_cli, snapshot


def stages_of(report: dict) -> list[str]:
    return [f"{s['stage']}/{s['impl']}" for s in report["stages"]]


def test_frozen_graph_to_onnx_tflite_and_savedmodel(env, keras_models, session_dir):
    out = session_dir / "from-graphdef"
    result = run_cli(
        env,
        "convert",
        str(keras_models / "digits.pb"),
        "--to",
        "onnx,tflite,savedmodel,tfjs",
        "--quantize",
        "int8",
        "--calibration",
        str(keras_models / "calib.npz"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "digits")
    report = read_report(run)
    assert report["source"]["format"] == "graphdef"
    got = {(a["target"], a["precision"]): a for a in report["artifacts"]}
    assert set(got) == {
        ("onnx", "fp32"),
        ("tflite", "fp32"),
        ("tflite", "int8"),
        ("savedmodel", "fp32"),
        ("tfjs", "fp32"),
    }
    assert all(a["parity"]["passed"] for a in got.values())
    assert routes_as_documented(report) == []
    assert got[("onnx", "fp32")]["parity"]["max_abs_err"] < 1e-4
    assert got[("tflite", "fp32")]["parity"]["max_abs_err"] < 1e-4
    # The placeholder was found without --inputs; TFLite comes from TF's converter, not onnx2tf.
    assert got[("tflite", "fp32")]["inputs"][0]["shape"] == [1, 8, 8, 1]
    assert {"load/graphdef", "export/graphdef", "emit/graphdef-savedmodel", "emit/savedmodel-tflite"} <= set(
        stages_of(report)
    ) and "emit/onnx2tf" not in stages_of(report)
    assert (run / "digits_savedmodel" / "saved_model.pb").is_file()


def test_frozen_graph_with_two_ends_lists_the_candidates(env, keras_models, tmp_path):
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(keras_models / "two_ends.pb"), "--to", "onnx", "--out", str(out))
    err = " ".join(result.stderr.split())
    assert result.returncode == 1
    assert (
        "[load/graphdef] cannot tell the outputs of two_ends.pb: it ends in 2 nodes: "
        "Identity (Identity), Identity_1 (Identity); name them with --outputs a,b"
    ) in err
    assert snapshot(out) == {}
    named = run_cli(
        env,
        "convert",
        str(keras_models / "two_ends.pb"),
        "--outputs",
        "Identity_1",
        "--to",
        "onnx",
        "--calibration",
        str(keras_models / "calib.npz"),
        "--out",
        str(out),
    )
    assert named.returncode == 0, named.stderr[-3000:]
    (artifact,) = read_report(latest_run(out, "two_ends"))["artifacts"]
    assert artifact["parity"]["passed"] and len(artifact["outputs"]) == 1
    # Identity_1 is the softmax: its outputs sum to one.
    assert artifact["parity"]["outputs"].keys() == {"Identity_1"}


def test_frozen_graph_unknown_output_name(env, keras_models, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env, "convert", str(keras_models / "two_ends.pb"), "--outputs", "Identiy_1", "--to", "onnx", "--out", str(out)
    )
    err = " ".join(result.stderr.split())
    assert result.returncode == 1 and "--outputs names 'Identiy_1', which is not a node of two_ends.pb" in err
    assert "Identity_1" in err and snapshot(out) == {}


def test_tflite_source_to_onnx_tflite_and_savedmodel(env, keras_models, session_dir):
    out = session_dir / "from-tflite"
    result = run_cli(
        env,
        "convert",
        str(keras_models / "digits.tflite"),
        "--to",
        "onnx,tflite,savedmodel,tfjs",
        "--calibration",
        str(keras_models / "calib.npz"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out, "digits"))
    assert report["source"]["format"] == "tflite"
    got = {a["target"]: a for a in report["artifacts"]}
    assert set(got) == {"onnx", "tflite", "savedmodel", "tfjs"}
    assert all(a["parity"]["passed"] and a["parity"]["max_abs_err"] < 1e-4 for a in got.values())
    assert routes_as_documented(report) == []
    # The TFLite source is its own TFLite artifact, validated; the others go through ONNX, and a
    # channels-last source stays channels-last through ONNX and onnx2tf.
    assert got["tflite"]["route"] == "load/tflite → emit/tflite-as-is"
    assert got["savedmodel"]["route"] == "load/tflite → export/tflite → emit/onnx2tf"
    assert got["tflite"]["inputs"][0]["shape"] == got["savedmodel"]["inputs"][0]["shape"] == [1, 8, 8, 1]


@pytest.mark.parametrize(
    "name, source, cut, message",
    [
        ("truncated.pb", "digits.pb", 3000, "truncated.pb is not a frozen TF GraphDef (truncated, or another format"),
        ("symbol.pb", "calib.npz", None, "symbol.pb is not a frozen TF GraphDef"),
        (
            "truncated.tflite",
            "digits.tflite",
            5000,
            "truncated.tflite is not a readable TFLite file: the flatbuffer is cut short or corrupt",
        ),
        ("graph.tflite", "digits.pb", None, "graph.tflite is not a TFLite flatbuffer (no TFL3 identifier)"),
    ],
)
def test_bad_graphdef_and_tflite_files(env, keras_models, tmp_path, name, source, cut, message):
    data = (keras_models / source).read_bytes()
    bad = tmp_path / name
    bad.write_bytes(data[:cut] if cut else data)
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(bad), "--to", "onnx", "--out", str(out))
    err = " ".join(result.stderr.split())
    assert result.returncode == 1 and message in err and "nothing was published" in err
    assert snapshot(out) == {}


def test_a_savedmodels_saved_model_pb_names_its_savedmodel(env, keras_models, tmp_path):
    """saved_model.pb is no frozen graph: pointing at it converts the SavedModel it belongs to."""
    result = run_cli(
        env,
        "convert",
        str(keras_models / "digits_savedmodel" / "saved_model.pb"),
        "--to",
        "onnx",
        "--out",
        str(tmp_path / "out"),
        "--plan",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "digits_savedmodel (savedmodel) -> onnx" in result.stdout + result.stderr
