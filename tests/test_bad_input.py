"""Bad input: a clear error naming the file, stage and cause; non-zero exit; nothing published;
earlier artifacts at the same --out untouched."""

from __future__ import annotations

import json
import shutil

import boto3
import numpy as np
import pytest

from tests.conftest import INPUT_SHAPE, copy_checkpoint, free_port, in_runtime, run_cli, snapshot


@pytest.fixture
def out_with_history(example_run, tmp_path):
    """An --out that already holds a finished run."""
    out = tmp_path / "store"
    shutil.copytree(example_run["out"], out)
    return out


def convert_fails(env, out, *args, exit_code=1) -> str:
    before = snapshot(out)
    result = run_cli(env, "convert", *args, "--out", str(out))
    assert result.returncode == exit_code, result.stderr[-3000:]
    assert snapshot(out) == before, "something was published or lost"
    return " ".join(result.stderr.split())  # rich wraps long lines


@pytest.mark.slow
def test_missing_params(env, face, tmp_path, out_with_history):
    symbol = tmp_path / "m" / "model-symbol.json"
    symbol.parent.mkdir()
    shutil.copyfile(face / "model-symbol.json", symbol)
    err = convert_fails(env, out_with_history, str(symbol), "--input-shape", INPUT_SHAPE)
    assert "[load]" in err and "model-symbol.json" in err and "no .params file" in err


def test_missing_params_for_epoch(env, face, tmp_path, out_with_history):
    symbol = copy_checkpoint(face, tmp_path / "m")
    err = convert_fails(env, out_with_history, str(symbol), "--epoch", "7", "--input-shape", INPUT_SHAPE)
    assert "[load]" in err and "model-0007.params" in err and "missing" in err


def test_truncated_params(env, face, tmp_path, out_with_history):
    symbol = copy_checkpoint(face, tmp_path / "m")
    params = symbol.with_name("model-0000.params")
    params.write_bytes(params.read_bytes()[:5000])
    err = convert_fails(env, out_with_history, str(symbol), "--input-shape", INPUT_SHAPE)
    assert "[load/mxnet]" in err and "model-0000.params cannot be read (truncated" in err


def test_json_that_is_not_a_symbol(env, face, tmp_path, out_with_history):
    symbol = copy_checkpoint(face, tmp_path / "m")
    symbol.write_text(json.dumps({"model": "resnet", "layers": [1, 2, 3]}))
    err = convert_fails(env, out_with_history, str(symbol), "--input-shape", INPUT_SHAPE)
    assert "[load/mxnet]" in err and "model-symbol.json is not an MXNet symbol" in err


def test_op_the_exporter_cannot_handle(env, tmp_path, out_with_history):
    prefix = tmp_path / "m" / "odd"
    prefix.parent.mkdir()
    in_runtime(env, "mxnet", "tests/helpers/make_models.py", "unsupported-op", str(prefix))
    err = convert_fails(env, out_with_history, f"{prefix}-symbol.json", "--input-shape", "data:1,3,8,8")
    assert "[export/mxnet]" in err and "odd-symbol.json" in err and "cannot handle op 'cbrt'" in err
    assert "cube_root" in err


def test_input_shape_that_does_not_fit(env, face, out_with_history):
    err = convert_fails(env, out_with_history, str(face / "model-symbol.json"), "--input-shape", "data:1,3,64,64")
    assert "[load/mxnet]" in err and "input shape data:N,3,64,64 does not fit model-symbol.json" in err


def test_input_shape_unknown(env, face, out_with_history):
    err = convert_fails(env, out_with_history, str(face / "model-symbol.json"))
    assert "[load/mxnet]" in err and "cannot tell the shape of input 'data' from model-symbol.json" in err
    assert "--input-shape data:" in err


@pytest.mark.parametrize(
    "arrays, expected",
    [
        # (one array for a one-input model is taken whatever its key; two are matched by name)
        (
            {"images": np.zeros((4, 3, 112, 112), np.float32), "labels": np.zeros(4, np.float32)},
            "has keys ['images', 'labels'] but the model's inputs are ['data']",
        ),
        (
            {"data": np.zeros((4, 3, 64, 64), np.float32)},
            "'data' has shape (4, 3, 64, 64), the model needs (N, 3, 112, 112)",
        ),
    ],
)
def test_calibration_with_wrong_keys_or_shapes(env, face, tmp_path, out_with_history, arrays, expected):
    calibration = tmp_path / "calib-bad.npz"
    np.savez(calibration, **arrays)
    err = convert_fails(
        env,
        out_with_history,
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--quantize",
        "int8",
        "--calibration",
        str(calibration),
    )
    assert "[load/mxnet]" in err and "calibration file calib-bad.npz" in err and expected in err


def test_calibration_that_is_a_pickle(env, face, tmp_path, out_with_history):
    calibration = tmp_path / "calib.npz"
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    shutil.copyfile(tmp_path / "obj.npy", calibration)
    err = convert_fails(
        env,
        out_with_history,
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--quantize",
        "int8",
        "--calibration",
        str(calibration),
    )
    assert "[load/mxnet]" in err and "calib.npz" in err


def test_int8_without_calibration_is_refused_up_front(env, face, out_with_history):
    err = convert_fails(
        env,
        out_with_history,
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--quantize",
        "int8",
        exit_code=2,
    )
    assert "int8 quantization needs calibration data" in err


def test_unreachable_bucket(env, face):
    port = free_port()  # nothing listens there
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--out",
        "s3://models/x",
        "--s3-endpoint-url",
        f"http://127.0.0.1:{port}",
    )
    err = " ".join(result.stderr.split())
    assert result.returncode == 1
    assert "[publish] (s3://models/x)" in err and "cannot reach the S3 endpoint" in err
    assert "▶" not in err  # failed before any stage ran


def test_missing_bucket(env, face, moto_server):
    endpoint = moto_server()
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--out",
        "s3://no-such-bucket/x",
        "--s3-endpoint-url",
        endpoint,
    )
    err = " ".join(result.stderr.split())
    assert result.returncode == 1 and "bucket 'no-such-bucket' does not exist" in err


def test_wrong_credentials(env, face, moto_server):
    endpoint = moto_server(INITIAL_NO_AUTH_ACTION_COUNT="1")  # one unauthenticated call: create the bucket
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="models")
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--out",
        "s3://models/x",
        "--s3-endpoint-url",
        endpoint,
    )
    err = " ".join(result.stderr.split())
    assert result.returncode == 1 and "[publish]" in err and "wrong credentials" in err, err
    assert "▶" not in err  # refused before any stage ran, so nothing can have been uploaded
