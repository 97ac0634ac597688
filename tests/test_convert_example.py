"""The bundled insightface-style model through the whole pipeline, checked independently."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from tests.conftest import INPUT_SHAPE, copy_checkpoint, in_runtime, latest_run, read_report, run_cli, snapshot


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_example_converts_to_onnx_and_tflite_within_gates(example_run):
    run = example_run["run"]
    report = read_report(run)
    assert report["status"] == "passed"
    got = {(a["target"], a["precision"]) for a in report["artifacts"]}
    assert got == {("onnx", "fp32"), ("tflite", "fp32"), ("tflite", "fp16"), ("tflite", "dynamic"), ("tflite", "int8")}
    for artifact in report["artifacts"]:
        parity = artifact["parity"]
        assert parity["passed"], artifact
        path = run / artifact["path"]
        assert sha256(path) == artifact["sha256"] and path.stat().st_size == artifact["bytes"]
        assert artifact["inputs"][0]["dtype"] in ("float32", "int8")
        assert parity["top1_agreement"] >= 0.875  # 8 samples: at most one flip, even for int8
    by = {(a["target"], a["precision"]): a for a in report["artifacts"]}
    assert by[("onnx", "fp32")]["parity"]["max_abs_err"] < 1e-4
    assert by[("tflite", "fp32")]["parity"]["max_abs_err"] < 1e-4
    assert by[("tflite", "fp16")]["parity"]["cosine"] >= 0.999
    assert by[("tflite", "int8")]["parity"]["cosine"] >= 0.99
    assert by[("tflite", "fp32")]["inputs"][0] == {
        "name": "data",
        "shape": [1, 112, 112, 3],
        "dtype": "float32",
        "layout": "NHWC",
        "batch_axis": 0,
    }
    # Every TFLite file keeps the model's names in its signature: fp32 (onnx2tf's graph through TF's
    # converter) and the quantized ones alike, not Identity or StatefulPartitionedCall:0.
    for precision in ("fp32", "fp16", "int8"):
        tensors = by[("tflite", precision)]["inputs"] + by[("tflite", precision)]["outputs"]
        assert [t.get("name_in_artifact", t["name"]) for t in tensors] == ["data", "fc7"], tensors
        assert not any("matched_by" in t for t in tensors)
    int8_input = by[("tflite", "int8")]["inputs"][0]
    assert int8_input["dtype"] == "int8" and int8_input["quantization"]["scale"] > 0
    assert report["source"]["format"] == "mxnet" and len(report["source"]["sha256"]) == 64
    # The run manifest is written last and lists exactly the published files.
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["status"] == "passed"
    assert manifest["files"] == {a["path"]: a["sha256"] for a in report["artifacts"]}
    html = (run / "report.html").read_text()
    assert "face_int8.tflite" in html and "passed" in html


def test_each_artifact_is_timed_on_this_cpu_in_its_runtime(example_run):
    """Every artifact's latency (one sample, after a warm-up, on the threads its validation had) and its
    process's peak memory, in report.json, report.html, the CLI's table; `--profile 0` times nothing."""
    report = read_report(example_run["run"])
    for artifact in report["artifacts"]:
        latency = artifact["latency"]
        assert 3 <= latency["runs"] <= 50 and 0 < latency["median_ms"] <= latency["p90_ms"], artifact
        assert latency["threads"] >= 1 and latency["peak_rss_mb"] > 50, artifact
    assert "latency on this CPU" in (example_run["run"] / "report.html").read_text()
    assert " ms (p90 " in example_run["result"].stderr


def test_profile_0_times_nothing(face, env, tmp_path):
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "onnx",
        "--profile",
        "0",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = read_report(latest_run(tmp_path / "out", "face"))["artifacts"]
    assert "latency" not in artifact and artifact["parity"]["passed"]


def test_a_named_task_is_measured_on_each_artifact(face, env, tmp_path):
    """--task classify with --labels: each artifact's top-1 and top-5 agreement with the source and its
    accuracy beside the source's; --task embed: the cosine of each sample's output; labels without the
    classify task, or without the user's own samples, are refused before any work."""
    digits = np.load(face / "labels.npz")
    samples, labels = tmp_path / "digits.npz", tmp_path / "labels.npz"
    np.savez(samples, data=digits["data"][:8].astype(np.float32))
    np.savez(labels, label=digits["label"][:8])
    base = [
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "onnx,tflite",
        "--samples",
        str(samples),
    ]
    result = run_cli(env, *base, "--task", "classify", "--labels", str(labels), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-3000:]
    for artifact in read_report(latest_run(tmp_path / "out", "face"))["artifacts"]:
        task = artifact["parity"]["task"]
        (measured,) = task["outputs"].values()
        assert task["task"] == "classify" and measured["samples"] == 8, artifact
        assert measured["top1_agreement"] >= 0.875 and measured["top5_agreement"] == 1.0, measured
        assert (
            measured["source_accuracy"] >= 0.75
            and abs(measured["artifact_accuracy"] - measured["source_accuracy"]) <= 0.125
        ), measured
    assert "(top-5 1.000), accuracy" in result.stderr
    embed = run_cli(env, *base, "--task", "embed", "--out", str(tmp_path / "embed"))
    assert embed.returncode == 0, embed.stderr[-3000:]
    for artifact in read_report(latest_run(tmp_path / "embed", "face"))["artifacts"]:
        (measured,) = artifact["parity"]["task"]["outputs"].values()
        assert measured["cosine_min"] > 0.999, measured
    refused = run_cli(env, *base, "--task", "embed", "--labels", str(labels), "--out", str(tmp_path / "no"))
    assert refused.returncode == 2 and "--labels are the classes of your own --samples" in refused.stderr
    assert not (tmp_path / "no").exists()


def test_int8_tflite_keeps_classifier_accuracy(example_run, face, env, session_dir):
    """Quantized accuracy on held-out digits, measured with LiteRT outside the pipeline."""
    run = example_run["run"]
    out = session_dir / "int8_eval.npz"
    in_runtime(
        env,
        "tf",
        "-c",
        f"""
import numpy as np
from ai_edge_litert.interpreter import Interpreter
held = np.load("{face / "labels.npz"}")
m = Interpreter(model_path="{run / "face_int8.tflite"}"); m.allocate_tensors()
i, o = m.get_input_details()[0], m.get_output_details()[0]
(s, z), (os_, oz) = i["quantization"], o["quantization"]
pred = []
for x in held["data"][:100].astype(np.float32):
    q = np.clip(np.round(x.transpose(1, 2, 0)[None] / s + z), -128, 127).astype(np.int8)
    m.set_tensor(i["index"], q); m.invoke()
    pred.append(int(((m.get_tensor(o["index"]).astype(np.float32) - oz) * os_).argmax()))
np.savez("{out}", pred=np.array(pred), label=held["label"][:100])
""",
    )
    result = np.load(out)
    assert (result["pred"] == result["label"]).mean() >= 0.9


def test_fix_gamma_batchnorm_matches_mxnet(example_run, face, env, session_dir):
    """fc1 is BatchNorm(fix_gamma=True) with a stored gamma != 1: the ONNX must behave like MXNet."""
    run = example_run["run"]
    inputs = session_dir / "fix_gamma_inputs.npz"
    held = np.load(face / "labels.npz")
    np.savez(inputs, data=held["data"][:16].astype(np.float32))
    mx_out, onnx_out = session_dir / "fg_mx.npz", session_dir / "fg_onnx.npz"
    in_runtime(
        env,
        "mxnet",
        "tests/helpers/mxnet_forward.py",
        str(face / "model"),
        str(inputs),
        str(mx_out),
        "--print-param",
        "fc1_gamma",
    )
    in_runtime(env, "tf", "tests/helpers/onnx_forward.py", str(run / "face.onnx"), str(inputs), str(onnx_out))
    mx_result, onnx_result = np.load(mx_out), np.load(onnx_out)
    assert np.abs(mx_result["param"] - 1).max() > 0.05  # the trap is really set
    np.testing.assert_allclose(onnx_result["out:fc7"], mx_result["fc7_output"], atol=1e-4, rtol=1e-4)
    assert np.all(onnx_result["bn_scale:fc1"] == 1.0)
    assert "fc1" in read_report(run)["surgery"]["fix_gamma"]


def test_strip_preprocess_records_mean_scale_and_matches_on_normalized_input(face, env, session_dir):
    out = session_dir / "stripped"
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "onnx",
        "--strip-preprocess",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "face")
    report = read_report(run)
    assert report["preprocess"] == {
        "input": "data",
        "mean": 127.5,
        "scale": 0.0078125,
        "removed": ["_minusscalar0", "_mulscalar0"],
    }
    raw = np.load(face / "labels.npz")["data"][:8].astype(np.float32)
    raw_npz, norm_npz = session_dir / "raw.npz", session_dir / "norm.npz"
    np.savez(raw_npz, data=raw)
    np.savez(norm_npz, data=(raw - 127.5) * 0.0078125)
    mx_out, onnx_out = session_dir / "strip_mx.npz", session_dir / "strip_onnx.npz"
    in_runtime(env, "mxnet", "tests/helpers/mxnet_forward.py", str(face / "model"), str(raw_npz), str(mx_out))
    in_runtime(env, "tf", "tests/helpers/onnx_forward.py", str(run / "face.onnx"), str(norm_npz), str(onnx_out))
    stripped = np.load(onnx_out)["out:fc7"]
    np.testing.assert_allclose(stripped, np.load(mx_out)["fc7_output"], atol=1e-4, rtol=1e-4)


def test_output_layer_cut_and_rename(face, env, session_dir):
    """Cut at the embedding (fc1) and give pre_fc1's weight its proper name."""
    out = session_dir / "cut"
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "onnx",
        "--output-layer",
        "fc1",
        "--rename",
        "fc1_weight=pre_fc1_weight",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out, "face"))
    (onnx_artifact,) = report["artifacts"]
    assert onnx_artifact["outputs"][0]["shape"] == [1, 32]
    assert onnx_artifact["parity"]["passed"]
    assert report["surgery"]["renamed"] == [{"from": "fc1_weight", "to": "pre_fc1_weight"}]
    assert report["surgery"]["output_layer"] == "fc1_output"


def test_unchanged_rerun_skips_every_stage_and_keeps_earlier_runs(example_run, env):
    before = snapshot(example_run["out"])
    result = run_cli(env, "convert", *example_run["args"])
    assert result.returncode == 0, result.stderr[-3000:]
    rerun = latest_run(example_run["out"], "face")
    report = read_report(rerun)
    assert rerun != example_run["run"]
    assert report["stages"] and all(stage["cached"] for stage in report["stages"])
    assert "▶" not in result.stderr  # no stage process started
    after = snapshot(example_run["out"])
    assert all(after[key] == value for key, value in before.items() if not key.endswith("latest.json"))
    first = read_report(example_run["run"])
    assert [a["sha256"] for a in report["artifacts"]] == [a["sha256"] for a in first["artifacts"]]


def test_a_target_that_fails_its_gate_is_not_published(example_run, env):
    """A stricter int8 gate than the model can meet: int8 fails loudly, the rest is published."""
    args = [a for a in example_run["args"]]
    result = run_cli(env, "convert", *args, "--gate-int8-cosine", "0.999999", "--gate-int8-max-abs", "0")
    assert result.returncode == 1
    err = " ".join(result.stderr.split())
    assert "tflite/int8 failed its gate: worst output fc7_output" in err
    (failed,) = [
        p for p in (example_run["out"] / "face").iterdir() if p.is_dir() and read_report(p)["status"] == "failed"
    ]
    report = read_report(failed)
    assert set(report["failed_targets"]) == {"tflite/int8", "tflite/dynamic"}
    int8 = next(a for a in report["artifacts"] if a["precision"] == "int8")
    assert int8["published"] is False and int8["path"] is None
    assert int8["parity"]["worst_output"] == "fc7_output" and int8["parity"]["cosine"] < 0.999999
    assert not (failed / "face_int8.tflite").exists() and (failed / "face_fp32.tflite").exists()
    assert json.loads((failed / "run.json").read_text())["status"] == "failed"
    assert latest_run(example_run["out"], "face") != failed  # latest.json still names a passed run


def test_input_shape_declared_in_the_symbol(face, env, tmp_path):
    """No --input-shape needed when the symbol's input variable carries __shape__."""
    symbol = copy_checkpoint(face, tmp_path / "m")
    graph = json.loads(symbol.read_text())
    data = next(n for n in graph["nodes"] if n["name"] == "data")
    data.setdefault("attrs", {})["__shape__"] = "(1, 3, 112, 112)"
    symbol.write_text(json.dumps(graph))
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(symbol), "--to", "onnx", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = read_report(latest_run(out, "m"))["artifacts"]
    assert artifact["inputs"][0]["shape"] == [1, 3, 112, 112] and artifact["parity"]["passed"]
