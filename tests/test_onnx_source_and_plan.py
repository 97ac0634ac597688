"""ONNX as a source, and the planner's DAG as `--plan` prints it."""

from __future__ import annotations

import shutil

from tests.conftest import INPUT_SHAPE, latest_run, read_report, routes_as_documented, run_cli, snapshot


def test_onnx_source_to_tflite(example_run, env, session_dir):
    """The ONNX the example produced, as a source of its own: ONNX Runtime is the golden."""
    source = session_dir / "face.onnx"
    shutil.copyfile(example_run["run"] / "face.onnx", source)
    out = session_dir / "from-onnx"
    result = run_cli(
        env,
        "convert",
        str(source),
        "--to",
        "onnx,tflite,savedmodel,tfjs",
        "--quantize",
        "fp16",
        "--simplify",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out, "face"))
    assert report["source"]["format"] == "onnx" and report["source"]["files"]["model"]["name"] == "face.onnx"
    assert {(a["target"], a["precision"]) for a in report["artifacts"]} == {
        ("onnx", "fp32"),
        ("tflite", "fp32"),
        ("tflite", "fp16"),
        ("savedmodel", "fp32"),
        ("tfjs", "fp32"),
        ("tfjs", "fp16"),
    }
    assert all(a["parity"]["passed"] for a in report["artifacts"])
    assert routes_as_documented(report) == []
    assert [s["stage"] for s in report["stages"]][0] == "load" and "export" not in [
        s["stage"] for s in report["stages"]
    ]


def test_plan_prints_the_dag_without_running(env, face, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--quantize",
        "fp16,int8",
        "--calibration",
        str(face / "calib.npz"),
        "--out",
        str(out),
        "--plan",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()[1:]
    fallbacks = lines.index(next(line for line in lines if line.startswith("fallback routes")))
    assert [line.split()[0] for line in lines[:fallbacks]] == [
        "load/mxnet",
        "surgery/mxnet",
        "export/mxnet",
        "emit/onnx2tf",
        "emit/savedmodel-tflite",
        "quantize/tflite",
        "quantize/tflite",
        "validate/onnx",
        "validate/tflite",
        "validate/tflite",
        "validate/tflite",
    ]
    assert "emit/onnx2tf" in result.stderr and "<- export/mxnet" in result.stderr
    # each fp32 artifact's other routes, in the order they are tried
    assert lines[fallbacks + 1].split(": ", 1) == [
        "  tflite/fp32",
        "surgery/mxnet → export/mxnet → emit/onnx-tfops → emit/savedmodel-tflite",
    ]
    assert not out.exists()


def test_plan_for_an_onnx_source_skips_export(env, example_run, tmp_path):
    source = tmp_path / "m.onnx"
    shutil.copyfile(example_run["run"] / "face.onnx", source)
    result = run_cli(env, "convert", str(source), "--to", "tflite", "--plan")
    assert result.returncode == 0, result.stderr
    steps = [line.split()[0] for line in result.stderr.splitlines()[1:5]]
    assert steps == ["load/onnx", "reference/onnx", "emit/onnx2tf-direct", "validate/tflite"]


def test_surgery_options_on_an_onnx_source_are_refused(env, example_run, tmp_path):
    source = tmp_path / "m.onnx"
    shutil.copyfile(example_run["run"] / "face.onnx", source)
    result = run_cli(env, "convert", str(source), "--strip-preprocess", "--plan")
    assert (
        result.returncode == 1
        and "[plan] --strip-preprocess applies to mxnet sources; this source is 'onnx'"
        in " ".join(result.stderr.split())
    )


def test_truncated_onnx(env, example_run, tmp_path):
    source = tmp_path / "broken.onnx"
    source.write_bytes((example_run["run"] / "face.onnx").read_bytes()[:3000])
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(source), "--out", str(out))
    err = " ".join(result.stderr.split())
    assert result.returncode == 1 and "[load/onnx] broken.onnx is not a readable ONNX model" in err
    assert snapshot(out) == {}


def test_a_file_of_an_unknown_kind(env, tmp_path):
    source = tmp_path / "weights.txt"
    source.write_text("not a model")
    result = run_cli(env, "convert", str(source), "--out", str(tmp_path / "out"))
    err = " ".join(result.stderr.split())
    assert result.returncode == 1 and "[load] (" in err and "weights.txt" in err and "does not read '.txt' files" in err
