"""The Core ML target: coremltools 9 converts the route's PyTorch program to an ML program (.mlpackage),
fp32 and fp16, published as a folder; on Linux, where Core ML does not run, it is validated by modelferry's
own numpy interpreter of the saved program (stages/coreml/mil), and the report names that validator. The
bundled MobileFaceNet (fp32 and fp16), a small ResNet from TorchScript, the seeds' Keras MTCNN PNet, a real
model of the zoo, the interpreter's handlers against torch, and a model coremltools cannot convert."""

from __future__ import annotations

import json

import pytest

from tests.conftest import (
    INPUT_SHAPE,
    convert_zoo,
    failure_report,
    in_runtime,
    latest_run,
    read_report,
    run_cli,
    snapshot,
)

VALIDATOR = "modelferry MIL interpreter (numpy, fp32 math)"


@pytest.fixture(scope="module")
def resnet(env, session_dir):
    out = session_dir / "torch_resnet"
    in_runtime(env, "torch", "tests/helpers/make_torch_resnet.py", str(out))
    return out / "resnet.pt"


def test_every_interpreter_handler_agrees_with_torch(env, tmp_path):
    """One small torch module per op group (convolutions, pools with ceil_mode and padding, activations,
    elementwise, reductions, normalizations, shape ops, resizing, LSTM), converted by coremltools and run by
    the interpreter, fp32 and fp16; its blob reader against coremltools' own; an op it does not know refused."""
    in_runtime(env, "coreml", "tests/helpers/coreml_op_cases.py", str(tmp_path / "cases"))


def test_mobilefacenet_to_coreml_fp32_and_fp16(env, face, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "coreml",
        "--quantize",
        "fp16",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "face")
    by = {a["precision"]: a for a in read_report(run)["artifacts"]}
    fp32, fp16 = by["fp32"], by["fp16"]
    assert fp32["route"] == "surgery/mxnet → export/mxnet → emit/pytorch → emit/coreml"
    assert fp16["route"] == fp32["route"] + " → quantize/coreml fp16"
    assert fp32["published"] and fp32["parity"]["passed"] and fp32["parity"]["max_abs_err"] < 1e-4
    assert fp16["published"] and fp16["parity"]["passed"] and fp16["parity"]["cosine"] >= 0.999
    assert fp16["parity"]["max_abs_err"] > fp32["parity"]["max_abs_err"]  # it did compute in fp16
    weights = {
        precision: sum(f.stat().st_size for f in (run / by[precision]["path"]).rglob("weight.bin")) for precision in by
    }
    assert 0 < weights["fp16"] < 0.6 * weights["fp32"]  # weights stored in fp16
    for artifact in (fp32, fp16):
        assert artifact["parity"]["validator"] == VALIDATOR
        folder = run / artifact["path"]
        assert sorted(p.name for p in folder.iterdir()) == ["model.mlpackage", "names.json"]
        assert (folder / "model.mlpackage" / "Manifest.json").is_file()
        names = json.loads((folder / "names.json").read_text())
        # the model's own names (MXNet's, as the report shows them) are the Core ML features' names
        assert names["inputs"] == {"data": "data"} and names["outputs"] == {"fc7_output": "fc7_output"}
        assert [t["name"] for t in artifact["inputs"] + artifact["outputs"]] == ["data", "fc7_output"]
    assert {fp32["path"], fp16["path"]} == {"face_coreml", "face_coreml_fp16"}


def test_a_pytorch_resnet_to_coreml(env, resnet, tmp_path):
    """TorchScript → ONNX → PyTorch → Core ML: BatchNorm at two epsilons, MaxPool(3, 2, 1, ceil_mode)."""
    out = tmp_path / "out"
    result = run_cli(
        env, "convert", str(resnet), "--input-shape", "image:1,3,64,64", "--to", "coreml", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = read_report(latest_run(out, "resnet"))["artifacts"]
    assert artifact["route"] == "load/torchscript → export/torch → emit/pytorch → emit/coreml"
    assert artifact["published"] and artifact["parity"]["max_abs_err"] < 1e-4


def test_the_keras_mtcnn_pnet_seed_to_coreml(env, keras_pnet, tmp_path):
    """PReLU shared over space, max pooling, a softmax and a box head: both outputs matched by name."""
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(keras_pnet), "--to", "coreml", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = read_report(latest_run(out, "pnet"))["artifacts"]
    assert artifact["route"] == "load/keras → export/keras → emit/pytorch → emit/coreml"
    assert set(artifact["parity"]["outputs"]) == {"prob", "box"}
    assert sorted(t["name"] for t in artifact["outputs"]) == ["box", "prob"]
    assert artifact["published"] and all(
        o["passed"] and o["cosine"] > 0.99999 for o in artifact["parity"]["outputs"].values()
    )


def test_a_real_model_to_coreml(env, tmp_path):
    """PaddleOCR's text-direction classifier (rapidocr's ONNX): an output name Core ML cannot hold as it is
    (`save_infer_model/scale_0.tmp_1`) is made an identifier, and the report keeps the model's own."""
    result, report = convert_zoo(env, "rapidocr-cls", tmp_path / "out", "--to", "coreml")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["route"] == "load/onnx → emit/pytorch → emit/coreml"
    assert artifact["parity"]["passed"] and artifact["parity"]["max_abs_err"] < 1e-4
    (output,) = artifact["outputs"]
    assert output["name"] == "save_infer_model/scale_0.tmp_1"
    assert output["name_in_artifact"] == "save_infer_model_scale_0_tmp_1"


def test_a_model_coremltools_cannot_convert_is_refused_and_nothing_is_published(env, tmp_path):
    in_runtime(env, "torch", "tests/helpers/make_onnx_bitwise.py", str(tmp_path / "models"))
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(tmp_path / "models" / "xor.onnx"),
        "--input-shape",
        "x:1,4",
        "--to",
        "coreml",
        "--out",
        str(out),
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    error = " ".join(result.stderr[result.stderr.index("error:") :].split())
    assert error.startswith("error: [emit/coreml] coremltools cannot convert the PyTorch program made from xor.onnx:")
    assert "bitwise_xor" in error
    (artifact,) = failure_report(out, "xor")["artifacts"]
    assert not artifact["published"] and "bitwise_xor" in artifact["reason"]
    assert snapshot(out) == {}
