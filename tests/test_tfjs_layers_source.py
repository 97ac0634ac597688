"""TFJS layers models as a source (issue 20, part 2): a model.json holding a Keras topology becomes a Keras
model (tf_keras), held to Node.js's loadLayersModel outputs, then goes every Keras route. Models written by
tensorflowjs in the tests (two named inputs and outputs, uint8 weights, recurrent cells), nsfwjs' real
MobileNetV2 (npm, pinned in bench/zoo/catalog.py), and hostile or broken ones refused before Keras builds
anything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.zoo import fetch
from bench.zoo.catalog import BY_NAME
from flows.source import resolve
from tests.conftest import in_runtime, latest_run, read_report, run_cli, snapshot


@pytest.fixture(scope="module")
def layers(env, session_dir) -> Path:
    out = session_dir / "tfjs-layers"
    if not (out / "recurrent" / "model.json").is_file():
        in_runtime(env, "tfjs", "tests/helpers/make_tfjs_layers.py", str(out))
    return out


def _convert(env, tmp_path, model: Path, targets: str, *options: str) -> dict:
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(model), *options, "--to", targets, "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return read_report(latest_run(out))


def _all_published(report: dict) -> None:
    assert report["source"]["format"] == "tfjs-layers"
    assert report["source"]["read"]["golden"] == "Node.js @tensorflow/tfjs loadLayersModel"
    for artifact in report["artifacts"]:
        assert artifact["published"] and artifact["parity"]["passed"], artifact


def test_a_json_is_told_a_layers_model_by_its_keras_topology(layers):
    assert resolve(layers / "net" / "model.json").format == "tfjs-layers"
    assert resolve(layers / "recurrent" / "model.json").format == "tfjs-layers"


def test_a_layers_model_with_two_named_heads_goes_every_keras_route(env, tmp_path, layers):
    report = _convert(env, tmp_path, layers / "net" / "model.json", "onnx,tflite,savedmodel,tfjs")
    _all_published(report)
    for artifact in report["artifacts"]:
        assert sorted(t["name"] for t in artifact["inputs"]) == ["image", "meta"], artifact["target"]
        assert sorted(t["name"] for t in artifact["outputs"]) == ["box", "probs"], artifact["target"]


def test_uint8_weights_and_recurrent_cells(env, tmp_path, layers):
    _all_published(_convert(env, tmp_path / "uint8", layers / "uint8" / "model.json", "onnx"))
    _all_published(_convert(env, tmp_path / "rnn", layers / "recurrent" / "model.json", "onnx,savedmodel"))


def test_nsfwjs_mobilenet_v2_a_real_layers_model_from_npm(env, tmp_path):
    model = BY_NAME["nsfwjs-mobilenet-v2"]
    report = _convert(env, tmp_path, fetch.source(model, download=False), "onnx,tflite", *model.options)
    _all_published(report)
    assert report["source"]["read"]["quantized_weights"] == ["uint8"]


@pytest.fixture
def copy(tmp_path, layers) -> Path:
    folder = tmp_path / "net"
    shutil.copytree(layers / "net", folder)
    return folder


def _edit(folder: Path, change) -> None:
    model = json.loads((folder / "model.json").read_text())
    change(model["modelTopology"]["model_config"]["config"]["layers"], model)
    (folder / "model.json").write_text(json.dumps(model))


def _refused(env, tmp_path, model: Path, *options: str) -> str:
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(model), *options, "--to", "onnx", "--out", str(out))
    assert result.returncode == 1, result.stderr[-3000:]
    assert snapshot(out) == {}
    err = " ".join(result.stderr.split())
    assert "[load/tfjs-layers]" in err and "model.json" in err
    return err


def test_a_lambda_layer_is_refused_before_keras_builds_it(env, tmp_path, layers):
    folder = tmp_path / "lambda"
    shutil.copytree(layers / "lambda", folder)
    assert "evil (Lambda)" in _refused(env, tmp_path, folder / "model.json")
    assert not (folder / "lambda-ran").exists() and not (layers / "lambda-ran").exists()


def test_a_class_keras_does_not_have_is_named_with_its_layer(env, tmp_path, copy):
    _edit(
        copy, lambda layers, _: next(layer for layer in layers if layer["name"] == "dw").update(class_name="FancyConv")
    )
    assert "dw (FancyConv)" in _refused(env, tmp_path, copy / "model.json")


def test_weights_missing_or_misshapen_are_named(env, tmp_path, copy):
    def rename(_, model):  # the shard's bytes stay where they were: the model only lacks the name
        next(w for group in model["weightsManifest"] for w in group["weights"] if w["name"] == "box/bias").update(
            name="box/offset"
        )

    original = (copy / "model.json").read_text()
    _edit(copy, rename)
    assert "layer 'box' needs the weight 'box/bias'" in _refused(env, tmp_path, copy / "model.json")
    (copy / "model.json").write_text(original)
    _edit(copy, lambda layers, _: next(layer for layer in layers if layer["name"] == "box")["config"].update(units=5))
    assert "weight 'box/kernel' of layer 'box' is shaped" in _refused(env, tmp_path / "again", copy / "model.json")
