"""Inputs that are not a float image with the batch first: static shapes, int64, scalars, a recurrent
state with its batch on axis 1, 1-D signals; samples files as users write them; --bind."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import in_runtime, latest_run, newest_report, read_report, run_cli, snapshot


@pytest.fixture(scope="session")
def onnx_inputs(env, session_dir):
    out = session_dir / "onnx-inputs"
    in_runtime(env, "tf", "tests/helpers/make_onnx_inputs.py", str(out))
    return out


def _convert(env, model, out, *args):
    result = run_cli(env, "convert", str(model), "--out", str(out), *args)
    return result, newest_report(out)


def test_a_static_shape_without_batch_takes_one_whole_sample(env, onnx_inputs, tmp_path):
    """(3, 4, 5) is the whole input: the samples are not split along its first axis."""
    x = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(np.float32)
    np.savez(tmp_path / "x.npz", whatever_key=x)  # one input: any key will do
    result, report = _convert(
        env, onnx_inputs / "static.onnx", tmp_path / "out", "--to", "onnx,tflite", "--samples", str(tmp_path / "x.npz")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert report["status"] == "passed"
    onnx = next(a for a in report["artifacts"] if a["target"] == "onnx")
    assert onnx["inputs"][0]["shape"] == [3, 4, 5] and onnx["inputs"][0]["batch_axis"] is None
    assert report["samples"]["synthetic"] is False and "x.npz" in report["samples"]["samples"]


def test_int64_inputs_take_a_declared_range_and_are_refused_without_one(env, onnx_inputs, tmp_path):
    result, report = _convert(
        env, onnx_inputs / "gather.onnx", tmp_path / "out", "--to", "onnx,tflite", "--input-range", "indices:0,9"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(a["published"] for a in report["artifacts"])
    indices = next(a for a in report["artifacts"] if a["target"] == "onnx")["inputs"][1]
    assert indices["dtype"] == "int64" and indices["shape"] == [3]
    assert "random integers in [0, 9]" in report["samples"]["samples"]

    refused = run_cli(env, "convert", str(onnx_inputs / "gather.onnx"), "--to", "onnx", "--out", str(tmp_path / "x"))
    assert refused.returncode == 1
    assert "input 'indices' is int64: say which values it takes with --input-range indices:LO,HI" in " ".join(
        refused.stderr.split()
    )
    assert snapshot(tmp_path / "x") == {}  # its report only: the run started


def test_a_scalar_int_input_is_fed_or_bound(env, onnx_inputs, tmp_path):
    fed, report = _convert(
        env, onnx_inputs / "scalar.onnx", tmp_path / "fed", "--to", "onnx,tflite", "--input-range", "sr:8000,16000"
    )
    assert fed.returncode == 0, fed.stderr[-3000:]
    sr = next(a for a in report["artifacts"] if a["target"] == "onnx")["inputs"][1]
    assert sr["name"] == "sr" and sr["shape"] == [] and sr["dtype"] == "int64"

    bound, report = _convert(env, onnx_inputs / "scalar.onnx", tmp_path / "bound", "--to", "onnx", "--bind", "sr=8000")
    assert bound.returncode == 0, bound.stderr[-3000:]
    assert [i["name"] for i in report["artifacts"][0]["inputs"]] == ["x"]  # sr is a constant of the graph now


def test_a_recurrent_state_with_batch_on_axis_1_is_fed_and_validated(env, onnx_inputs, tmp_path):
    """state [2, N, 8]: samples along axis 1 on every side. onnx2tf 2's direct TFLite file (the preferred
    route) takes it as it is. onnx2tf 1 broadcasts the sum of the state wrongly (its output is [8, 8], not
    [1, 8]): held to that route, the gate says so and nothing is published."""
    state = np.random.default_rng(2).standard_normal((2, 5, 8)).astype(np.float32)
    x = np.random.default_rng(3).standard_normal((5, 16)).astype(np.float32)
    np.savez(tmp_path / "s.npz", x=x, state=state)
    result, report = _convert(
        env,
        onnx_inputs / "recurrent.onnx",
        tmp_path / "out",
        "--to",
        "onnx,tflite",
        "--samples",
        str(tmp_path / "s.npz"),
    )
    by = {a["target"]: a for a in report["artifacts"]}
    assert by["onnx"]["published"] and by["onnx"]["parity"]["max_abs_err"] == 0
    assert by["onnx"]["inputs"][1]["batch_axis"] == 1 and by["onnx"]["inputs"][1]["shape"] == [2, 1, 8]
    assert result.returncode == 0, result.stderr[-3000:]
    assert by["tflite"]["route"] == "load/onnx → emit/onnx2tf-direct" and by["tflite"]["published"]
    assert by["tflite"]["parity"]["max_abs_err"] < 1e-5 and by["tflite"]["inputs"][1]["shape"] == [2, 1, 8]
    held, report = _convert(
        env,
        onnx_inputs / "recurrent.onnx",
        tmp_path / "held",
        "--to",
        "tflite",
        "--samples",
        str(tmp_path / "s.npz"),
        "--via",
        "onnx2tf",
        "--no-fallback",
    )
    (missed,) = report["artifacts"]
    assert held.returncode == 1 and not missed["published"]
    assert missed["attempts"][0]["outcome"] == "missed its gate" and "worst output y" in missed["reason"]


def test_a_1d_signal_moves_channels_last_in_tflite_and_back(env, onnx_inputs, tmp_path):
    """[N, 3, 32] is NCW; onnx2tf's TFLite and SavedModel take NWC [1, 32, 3]: layouts are known for 3-D too.
    onnx2tf 1 gives the output [1, 2, 30] channels-last as well ([1, 30, 2]); onnx2tf 2's direct file hands it
    back channels-first: each is matched by its shape and validated as it is."""
    result, report = _convert(env, onnx_inputs / "sequence.onnx", tmp_path / "out", "--to", "tflite,savedmodel")
    assert result.returncode == 0, result.stderr[-3000:]
    by = {a["target"]: a for a in report["artifacts"]}
    for artifact in by.values():
        assert artifact["inputs"][0]["shape"] == [1, 32, 3] and artifact["inputs"][0]["layout"] == "NWC"
        assert artifact["parity"]["max_abs_err"] < 1e-5
    assert by["savedmodel"]["outputs"][0]["layout"] == "NWC"
    assert by["tflite"]["outputs"][0]["layout"] == "NCW" and by["tflite"]["outputs"][0]["shape"] == [1, 2, 30]


def test_one_file_as_samples_and_calibration(env, face, tmp_path):
    """The same .npz for both options (a natural thing to do) used to end in a FileExistsError."""
    out = tmp_path / "out"
    calib = str(face / "calib.npz")
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        "data:1,3,112,112",
        "--to",
        "onnx",
        "--samples",
        calib,
        "--calibration",
        calib,
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_report(latest_run(out, "face"))["samples"]["samples"] == "from calib.npz"
