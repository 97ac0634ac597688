"""PyTorch sources: TorchScript (.pt) and torch.export (.pt2) in the torch runtime; pickles refused unread."""

from __future__ import annotations

import pytest

from tests.conftest import in_runtime, latest_run, read_report, routes_as_documented, run_cli, snapshot


@pytest.fixture(scope="session")
def torch_models(env, face, session_dir):
    out = session_dir / "torch"
    in_runtime(env, "torch", "tests/helpers/make_torch.py", str(face / "labels.npz"), str(out))
    return out


def stages_of(report: dict) -> list[str]:
    return [f"{s['stage']}/{s['impl']}" for s in report["stages"]]


def test_torchscript_to_onnx_and_tflite_within_gates(env, torch_models, session_dir):
    """No --input-shape: TorchScript records none, the calibration arrays of the input's name give it."""
    out = session_dir / "from-torchscript"
    result = run_cli(
        env,
        "convert",
        str(torch_models / "digits.pt"),
        "--to",
        "onnx,tflite,savedmodel,tfjs",
        "--quantize",
        "int8",
        "--calibration",
        str(torch_models / "calib.npz"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out, "digits"))
    assert report["source"]["format"] == "torchscript"
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
    # PyTorch -> ONNX -> SavedModel (onnx2tf, channels-last) -> TFJS, each validated in its own runtime.
    assert got[("tfjs", "fp32")]["parity"]["max_abs_err"] < 1e-4
    assert {"emit/onnx2tf", "emit/tfjs", "validate/savedmodel", "validate/tfjs"} <= set(stages_of(report))
    assert got[("onnx", "fp32")]["parity"]["max_abs_err"] < 1e-4
    assert got[("tflite", "fp32")]["parity"]["max_abs_err"] < 1e-4
    assert got[("onnx", "fp32")]["inputs"][0]["shape"] == [1, 1, 8, 8]  # PyTorch is channels-first
    assert got[("tflite", "fp32")]["inputs"][0]["shape"] == [1, 8, 8, 1]  # onnx2tf's NHWC
    # One onnx2tf run serves the SavedModel, its TFLite file and TFJS.
    assert stages_of(report).count("emit/onnx2tf") == 1
    assert got[("tflite", "fp32")]["route"] == "load/torchscript → export/torch → emit/onnx2tf → emit/savedmodel-tflite"


def test_torch_export_to_onnx_without_input_shape(env, torch_models, session_dir):
    """A .pt2 program carries its input shapes (batch dynamic): nothing to pass but the file."""
    out = session_dir / "from-pt2"
    result = run_cli(
        env, "convert", str(torch_models / "digits.pt2"), "--to", "onnx,tflite,savedmodel,tfjs", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out, "digits"))
    assert report["source"]["format"] == "torch-export"
    assert stages_of(report)[:2] == ["load/torch-export", "export/torch"]
    assert all(a["parity"]["passed"] for a in report["artifacts"])
    assert routes_as_documented(report) == []
    onnx = next(a for a in report["artifacts"] if a["target"] == "onnx")
    assert {a["target"] for a in report["artifacts"]} == {"onnx", "tflite", "savedmodel", "tfjs"}
    assert onnx["parity"]["passed"] and onnx["parity"]["max_abs_err"] < 1e-4
    assert onnx["inputs"][0]["name"] == "image" and onnx["inputs"][0]["shape"] == [1, 1, 8, 8]


@pytest.mark.parametrize("runtime", ["venv", "auto"])  # auto: in containers where a Docker engine answers
def test_torchscript_with_input_shape(env, torch_models, session_dir, runtime):
    out = session_dir / f"from-torchscript-shape-{runtime}"
    result = run_cli(
        env,
        "convert",
        str(torch_models / "digits.pt"),
        "--input-shape",
        "image:1,1,8,8",
        "--to",
        "onnx",
        "--out",
        str(out),
        "--runtime",
        runtime,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (onnx,) = read_report(latest_run(out, "digits"))["artifacts"]
    assert onnx["parity"]["passed"] and onnx["parity"]["max_abs_err"] < 1e-4


def test_torchscript_without_any_shape_asks_for_input_shape(env, torch_models, tmp_path):
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(torch_models / "digits.pt"), "--to", "onnx", "--out", str(out))
    err = " ".join(result.stderr.split())
    assert result.returncode == 1
    assert "[load/torchscript] digits.pt does not record the shape of its input 'image'" in err
    assert "pass --input-shape image:" in err and snapshot(out) == {}
    misnamed = run_cli(
        env,
        "convert",
        str(torch_models / "digits.pt"),
        "--input-shape",
        "data:1,1,8,8",
        "--to",
        "onnx",
        "--out",
        str(out),
    )
    assert misnamed.returncode == 1
    assert "--input-shape names ['data'], but the inputs of digits.pt are ['image']" in " ".join(
        misnamed.stderr.split()
    )


PICKLE_REFUSED = "which loading would execute; modelferry reads TorchScript (torch.jit.save) and torch.export"


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "pickled.pt",
            "[load/torchscript] pickled.pt holds a pickled Python object (tests.helpers.torch_net.DigitsNet, "
            f"__builtin__.set, torch.nn.modules.conv.Conv2d), {PICKLE_REFUSED}",
        ),
        (
            "legacy.pt",
            "[load/torchscript] legacy.pt holds a pickled Python object (tests.helpers.torch_net.DigitsNet, "
            f"__builtin__.set, torch.nn.modules.conv.Conv2d), {PICKLE_REFUSED}",
        ),
        ("payload.pt", f"[load/torchscript] payload.pt holds a pickled Python object (io.open), {PICKLE_REFUSED}"),
        (
            "evil.pt2",
            "[load/torch-export] evil.pt2 holds a pickled Python object (io.open) in "
            "data/sample_inputs/model.pt, which loading would execute",
        ),
        (
            "weights.pt",
            "[load/torchscript] weights.pt holds only weights (a state_dict of tensors), no graph to convert",
        ),
    ],
)
def test_pickles_are_refused_without_being_unpickled(env, torch_models, tmp_path, name, message):
    """Each trap writes a marker when unpickled (make_torch.py springs each once to prove it, torch.export.load
    included); the load stage must refuse the file and no marker may appear."""
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(torch_models / name), "--to", "onnx", "--out", str(out))
    err = " ".join(result.stderr.split())
    assert result.returncode == 1
    assert message in err
    assert "torch.jit.save" in err or "torch.export.save" in err
    assert snapshot(out) == {}
    assert list((torch_models / "markers").iterdir()) == []


@pytest.mark.parametrize(
    "name, make, message",
    [
        (
            "truncated.pt",
            lambda models: (models / "digits.pt").read_bytes()[:3000],
            "[load/torchscript] truncated.pt is not a readable TorchScript archive: File is not a zip file",
        ),
        (
            "garbage.pt2",
            lambda models: bytes(range(256)) * 20,
            "[load/torch-export] garbage.pt2 is not a readable torch.export archive: File is not a zip file",
        ),
        (
            "program.pt",
            lambda models: (models / "digits.pt2").read_bytes(),
            "[load/torchscript] program.pt is a torch.export archive, not TorchScript: name it .pt2",
        ),
    ],
)
def test_unreadable_or_misnamed_files(env, torch_models, tmp_path, name, make, message):
    source = tmp_path / name
    source.write_bytes(make(torch_models))
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(source), "--to", "onnx", "--out", str(out))
    err = " ".join(result.stderr.split())
    assert result.returncode == 1 and message in err, err[-2000:]
    assert snapshot(out) == {}


def test_a_non_tensor_forward_argument_is_bound(env, torch_models, tmp_path):
    """forward(image, scale: int): refused without a value, naming the option; with --bind scale=3 the
    golden outputs and the ONNX graph both take 3."""
    args = [str(torch_models / "scaled.pt"), "--to", "onnx", "--calibration", str(torch_models / "calib.npz")]
    refused = run_cli(env, "convert", *args, "--out", str(tmp_path / "refused"))
    assert refused.returncode == 1
    assert "takes scale: int, not a tensor; fix it with --bind scale=VALUE" in " ".join(refused.stderr.split())
    assert snapshot(tmp_path / "refused") == {}  # its report only: the run started

    out = tmp_path / "bound"
    result = run_cli(env, "convert", *args, "--bind", "scale=3", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    (onnx,) = read_report(latest_run(out, "scaled"))["artifacts"]
    assert [i["name"] for i in onnx["inputs"]] == ["image"] and onnx["parity"]["max_abs_err"] < 1e-4
