"""Bugs of ours that real models met (issue 19, part 2), each fixed at its cause: a sized dynamic dimension,
Keras 3 Sequential models, ONNX external data, integer inputs of PyTorch models and TFJS, NaN samples,
the raw library errors, a report for every run that starts, and the model's own names in the ONNX artifact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import failure_report, in_runtime, latest_run, read_report, run_cli, snapshot


@pytest.fixture(scope="module")
def cases(env, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("trust-cases")
    in_runtime(env, "tf", "tests/helpers/make_trust_cases.py", str(out))
    return out


def _fails(env, out: Path, *args) -> str:
    result = run_cli(env, "convert", *args, "--out", str(out))
    assert result.returncode == 1, result.stderr[-3000:]
    assert snapshot(out) == {}, "something was published"
    return " ".join(result.stderr.split())


@pytest.mark.parametrize(
    "model, args, message",
    [
        (
            "tiny.onnx",
            ["--samples", "nan.npz"],
            "samples file nan.npz: 'x' holds NaN in sample 3; samples must be finite",
        ),
        ("tiny.onnx", ["--samples", "inf.npz"], "samples file inf.npz: 'x' holds Inf in sample 5"),
        ("opset99.onnx", [], "opset99.onnx declares ONNX opset 99; the newest opset the runtimes here know is"),
        ("zero.onnx", [], "input 'x' of zero.onnx declares a dimension of size 0 ([1, 0, 4])"),
        (
            "huge.onnx",
            [],
            "input 'x' of huge.onnx is float32[200000, 200000, 3]: its 8 samples would take 3.58e+03 GiB",
        ),
        ("novars", ["--input-range", "x:-1,1"], "novars has variables but no variables/variables.index"),
    ],
)
def test_bad_inputs_are_refused_at_load_with_their_cause(env, cases, tmp_path, model, args, message):
    args = [str(cases / a) if a.endswith(".npz") else a for a in args]
    out = tmp_path / "out"
    err = _fails(env, out, str(cases / model), "--to", "onnx", *args)
    assert message in err and "[load/" in err
    report = failure_report(out)  # a run that fails in its first stage still has its report
    assert message in report["error"] and report["failed_stages"][0]["stage"] == "load"


def test_a_sized_dynamic_width_is_kept_before_the_image_checks(env, cases, tmp_path):
    """[1, 1, 64, 'width'] given as 1,1,64,160 with --mean/--std: the width is 160, not a batch of 1."""
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(cases / "ocr.onnx"),
        "--input-shape",
        "x:1,1,64,160",
        "--mean",
        "0",
        "--std",
        "255",
        "--to",
        "onnx",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    artifact = read_report(latest_run(out))["artifacts"][0]
    assert artifact["inputs"][0]["shape"] == [1, 1, 64, 160] and artifact["parity"]["passed"]


def test_a_keras3_sequential_model_converts_with_its_names(env, cases, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(cases / "sequential.keras"),
        "--to",
        "onnx,tflite",
        "--input-range",
        "features:-3,3",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for artifact in read_report(latest_run(out))["artifacts"]:
        assert artifact["published"] and [t["name"] for t in artifact["outputs"]] == ["quadrant"], artifact


def test_an_onnx_model_with_external_data_converts(env, cases, tmp_path):
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(cases / "external" / "model.onnx"), "--to", "onnx,tflite", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out, "external"))
    assert list(report["source"]["beside"]) == ["weights/w.bin"]
    assert all(a["published"] for a in report["artifacts"])
    (cases / "external" / "weights" / "w.bin").rename(cases / "external" / "weights" / "gone.bin")
    try:
        err = _fails(env, tmp_path / "missing", str(cases / "external" / "model.onnx"), "--to", "onnx")
    finally:
        (cases / "external" / "weights" / "gone.bin").rename(cases / "external" / "weights" / "w.bin")
    assert "model.onnx keeps weights in 'weights/w.bin', which is not a file beside it" in err


def test_onnx_artifacts_of_a_tflite_source_keep_the_models_names(env, tmp_path):
    """basic-pitch's own TFLite file: outputs contour, note and onset (two of one shape), input input_2 — in the
    ONNX file itself, read without report.json."""
    from bench.zoo import fetch
    from bench.zoo.catalog import BY_NAME

    source = fetch.source(BY_NAME["basic-pitch-tflite"], download=False)
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(source), "--input-range", "input_2:-1,1", "--to", "onnx", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    (onnx_file,) = latest_run(out).glob("*.onnx")
    in_runtime(
        env,
        "tf",
        "-c",
        "import onnx, sys; m = onnx.load(sys.argv[1]); "
        "assert [i.name for i in m.graph.input] == ['input_2'], m.graph.input; "
        "assert sorted(o.name for o in m.graph.output) == ['contour', 'note', 'onset'], m.graph.output",
        str(onnx_file),
    )


@pytest.mark.parametrize("zoo_name", ["minilm-pt2", "minilm-pt"])
def test_a_transformer_with_int64_token_ids_converts_from_pytorch(env, tmp_path, zoo_name):
    """all-MiniLM-L6-v2 (int64 input_ids and attention_mask) as torch.export and TorchScript: the dtypes come
    from the program (or --input-dtype). (Its TF routes stop at ReduceL2 and Erf: issue 21.)"""
    from bench.zoo import fetch
    from bench.zoo.catalog import BY_NAME

    model = BY_NAME[zoo_name]
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(fetch.source(model, download=False)),
        *model.options,
        "--to",
        "onnx",
        "--out",
        str(out),
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = read_report(latest_run(out))["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.99999, artifact
    assert {t["name"]: t["dtype"] for t in artifact["inputs"]} == {"input_ids": "int64", "attention_mask": "int64"}


def test_a_tfjs_artifact_takes_int32_where_the_source_took_int64(env, cases, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env, "convert", str(cases / "embed.onnx"), "--input-range", "ids:0,49", "--to", "tfjs", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = read_report(latest_run(out))["artifacts"]
    assert artifact["published"] and artifact["inputs"][0]["dtype"] == "int32", artifact
    assert artifact["inputs"][0]["source_dtype"] == "int64" and "TFJS has no int64" in artifact["inputs"][0]["note"]
    (model_json,) = latest_run(out).glob("*/model.json")
    assert json.loads(model_json.read_text())["signature"]["inputs"]["ids"]["dtype"] == "DT_INT32"


def test_torchscript_without_its_dtypes_says_why_and_how(env, tmp_path):
    """The interpreter's own reason is kept (the embedding got a FloatTensor), with the option that fixes it."""
    from bench.zoo import fetch
    from bench.zoo.catalog import BY_NAME

    model = BY_NAME["minilm-pt"]
    options = list(model.options)
    while "--input-dtype" in options:  # as a user would first try: no dtypes
        at = options.index("--input-dtype")
        del options[at : at + 2]
    err = _fails(env, tmp_path / "out", str(fetch.source(model, download=False)), *options, "--to", "onnx")
    assert "[load/torchscript]" in err and "--input-dtype" in err
    assert "Long" in err or "Int" in err, err  # the interpreter's last line, not only its first
    assert json.dumps(failure_report(tmp_path / "out")["failed_stages"]).count("load") >= 1


# The runtime that reads each format's own files.
READ_IN = {
    "onnx": "tf",
    "tflite": "tf",
    "savedmodel": "tf",
    "tfjs": "tf",
    "openvino": "openvino",
    "mxnet": "mxnet",
    "ncnn": "ncnn",
}


def test_every_artifact_carries_the_models_own_names(env, cases, tmp_path):
    """Two outputs of one shape, left and right: each published file, opened with its own format's tools and
    without report.json, names them (ncnn through names.json beside its blobs)."""
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(cases / "two.onnx"),
        "--input-range",
        "features:-1,1",
        "--to",
        ",".join(READ_IN),
        "--out",
        str(out),
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out)
    report = read_report(run)
    for artifact in report["artifacts"]:
        assert artifact["published"], artifact
        named = run_cli(
            env,
            "runtime",
            "exec",
            READ_IN[artifact["target"]],
            "--",
            "python",
            "tests/helpers/artifact_names.py",
            artifact["target"],
            str(run / artifact["path"]),
        )
        assert named.returncode == 0, named.stderr[-2000:]
        names = json.loads(named.stdout.strip().splitlines()[-1])
        assert {"left", "right"} <= set(names["outputs"]), (artifact["target"], names)
        assert "features" in names["inputs"], (artifact["target"], names)


def test_an_s3_source_brings_the_external_data_its_onnx_names(env, cases, tmp_path, moto_server):
    """The .onnx names weights/w.bin: fetched with it (its format says so), nothing else of the folder."""
    import boto3

    endpoint = moto_server()
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="incoming")
    s3.upload_file(str(cases / "external" / "model.onnx"), "incoming", "ext/model.onnx")
    s3.upload_file(str(cases / "external" / "weights" / "w.bin"), "incoming", "ext/weights/w.bin")
    s3.put_object(Bucket="incoming", Key="ext/unrelated.bin", Body=b"not the model's")
    out = tmp_path / "out"
    result = run_cli(
        env, "convert", "s3://incoming/ext/model.onnx", "--to", "onnx", "--out", str(out), "--s3-endpoint-url", endpoint
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out, "ext"))
    assert list(report["source"]["beside"]) == ["weights/w.bin"] and report["artifacts"][0]["published"]
    downloads = Path(env["MODELFERRY_HOME"]) / "downloads"
    fetched = {p.relative_to(p.parents[1]).as_posix() for p in downloads.glob("*/files/**/*") if p.is_file()}
    assert "files/model.onnx" in fetched and "weights/w.bin" in {f.split("files/")[-1] for f in fetched}
    assert not any(f.endswith("unrelated.bin") for f in fetched)
