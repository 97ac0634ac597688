"""`modelferry inspect MODEL`: what a model is and which targets will take it, before converting; read by the
stages a conversion runs, the ONNX graph parsed and never run."""

from __future__ import annotations

import json

from bench.zoo import fetch
from bench.zoo.catalog import BY_NAME
from tests.conftest import INPUT_SHAPE, run_cli

# A graph whose one weight says it lies in /etc/passwd (external data).
HOSTILE = """
import sys, onnx
from onnx import TensorProto, helper
weight = helper.make_tensor("w", TensorProto.FLOAT, [100], vals=[])
weight.data_location = TensorProto.EXTERNAL
for key, value in (("location", "../../../../../../etc/passwd"), ("offset", "0"), ("length", "400")):
    entry = weight.external_data.add()
    entry.key, entry.value = key, value
graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 100])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 100])], [weight])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
"""


def _inspect(env, *args: str) -> dict:
    result = run_cli(env, "inspect", *args, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_an_onnx_model_is_read_and_what_each_target_lacks_is_named(env):
    """The int8 MiniLM: token ids whose two dims the graph leaves open, and a GatherND, which modelferry's own
    Caffe and ncnn writers have no handler for (its conversions to those targets are refused for it)."""
    found = _inspect(env, str(fetch.source(BY_NAME["minilm-int8-onnx"], download=False)))
    assert found["format"] == "onnx" and found["read_by"] == []
    assert [(v["name"], v["dims"], v["dtype"]) for v in found["inputs"]] == [
        (name, ["batch", "sequence"], "int64") for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    assert found["outputs"][0]["dims"] == ["batch", "sequence", 384] and found["ops"]["GatherND"] == 1
    assert found["nodes"] == sum(found["ops"].values()) and found["parameters"] > 20_000_000
    routes = {row["target"]: row["routes"] for row in found["targets"]}
    assert "GatherND" in routes["caffe"][0]["lacking"]["emit/caffe-net"]
    assert "GatherND" in routes["ncnn"][1]["lacking"]["emit/ncnn-own"]
    assert routes["tflite"][0]["route"] == "load/onnx → emit/onnx2tf-direct" and not routes["tflite"][0]["lacking"]
    options = {(o["option"].split()[0], o["option"].split()[1].split(":")[0]): o for o in found["options"]}
    assert options[("--input-shape", "input_ids")]["needed"] and options[("--input-range", "input_ids")]["needed"]


def test_a_source_is_read_as_a_conversion_reads_it(env, face):
    """An MXNet checkpoint becomes ONNX by the load, surgery and export a conversion runs; without the input
    shape its load cannot run, and says which option to give."""
    found = _inspect(env, str(face / "model-symbol.json"), "--input-shape", INPUT_SHAPE)
    assert found["read_by"] == ["load/mxnet", "surgery/mxnet", "export/mxnet"]
    assert [(v["name"], v["dims"][1:]) for v in found["inputs"]] == [("data", [3, 112, 112])]
    picture = [o for o in found["options"] if o["option"].startswith("--mean")]
    assert picture and not picture[0]["given"]
    text = run_cli(env, "inspect", str(face / "model-symbol.json"), "--input-shape", INPUT_SHAPE)
    assert text.returncode == 0 and "read as ONNX by load/mxnet → surgery/mxnet → export/mxnet" in text.stdout
    refused = run_cli(env, "inspect", str(face / "model-symbol.json"))
    assert refused.returncode == 1 and "--input-shape data:" in refused.stderr


def test_a_graph_whose_weights_name_a_file_outside_its_folder_is_refused(env, tmp_path):
    """A weight that names /etc/passwd as its external data: refused before any stage, naming the file and the
    path, as a conversion refuses it; nothing is read there."""
    model = tmp_path / "hostile.onnx"
    made = run_cli(env, "runtime", "exec", "tf", "--writable", str(tmp_path), "--", "python", "-c", HOSTILE, str(model))
    assert made.returncode == 0, made.stderr[-3000:]
    result = run_cli(env, "inspect", str(model), "--json")
    assert result.returncode == 1 and not result.stdout
    assert "hostile.onnx keeps weights at '../../../../../../etc/passwd', outside its folder" in result.stderr
    assert "▶" not in result.stderr
