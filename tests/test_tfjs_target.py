"""The TFJS target: TF SavedModel -> TFJS graph model (fp32, fp16 and uint8 weights), validated in Node.js."""

from __future__ import annotations

import json

from flows.pins.locks import lock_sha256, runtime_sha256
from flows.runtimes.venv import VenvRuntime
from tests.conftest import latest_run, read_report, run_cli, snapshot


def test_savedmodel_to_tfjs(env, keras_models, session_dir):
    out = session_dir / "to-tfjs"
    result = run_cli(
        env,
        "convert",
        str(keras_models / "digits_savedmodel"),
        "--to",
        "tfjs",
        "--quantize",
        "fp16,dynamic",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "digits_savedmodel")
    report = read_report(run)
    got = {(a["target"], a["precision"]): a for a in report["artifacts"]}
    assert set(got) == {("tfjs", "fp32"), ("tfjs", "fp16"), ("tfjs", "dynamic")}
    assert all(a["parity"]["passed"] and a["published"] for a in got.values())
    assert got[("tfjs", "fp32")]["parity"]["max_abs_err"] < 1e-4
    assert got[("tfjs", "fp16")]["parity"]["gate"].startswith("cosine >= 0.999 or max_abs_err <= ")
    assert got[("tfjs", "dynamic")]["parity"]["gate"].startswith("cosine >= 0.99 or max_abs_err <= ")
    # The graph model's signature names: the SavedModel's, channels-last as TF is.
    assert got[("tfjs", "fp32")]["inputs"] == [
        {"name": "image", "shape": [1, 8, 8, 1], "dtype": "float32", "layout": "NHWC", "batch_axis": 0}
    ]
    stages = [f"{s['stage']}/{s['impl']}" for s in report["stages"]]
    assert stages.count("validate/tfjs") == 3 and stages.count("quantize/tfjs") == 2 and "emit/tfjs" in stages
    assert not any(s.startswith("export/") for s in stages)  # no ONNX detour
    for artifact in got.values():  # timed in Node.js, where it was validated (stages/tfjs/run.js)
        latency = artifact["latency"]
        assert 3 <= latency["runs"] <= 50 and 0 < latency["median_ms"] <= latency["p90_ms"], artifact
        assert latency["threads"] >= 1 and latency["peak_rss_mb"] > 30 and "skipped" not in latency, artifact

    # Each published artifact is a directory: model.json and the .bin shards it names, float weights as quantized.
    weight_dtypes = {"fp32": None, "fp16": "float16", "dynamic": "uint8"}
    for (_, precision), artifact in got.items():
        folder = run / artifact["path"]
        model = json.loads((folder / "model.json").read_text())
        shards = [p for group in model["weightsManifest"] for p in group["paths"]]
        assert shards and all(p.endswith(".bin") and (folder / p).is_file() for p in shards)
        assert sorted(p.name for p in folder.iterdir()) == sorted(["model.json", *shards])
        quantized = {
            w.get("quantization", {}).get("dtype")
            for g in model["weightsManifest"]
            for w in g["weights"]
            if w["dtype"] == "float32"
        }
        assert quantized == {weight_dtypes[precision]}
    assert got[("tfjs", "dynamic")]["bytes"] < got[("tfjs", "fp16")]["bytes"] < got[("tfjs", "fp32")]["bytes"]


def test_tfjs_unknown_signature_publishes_nothing(env, keras_models, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(keras_models / "digits_savedmodel"),
        "--signature",
        "predict_v2",
        "--to",
        "tfjs",
        "--out",
        str(out),
    )
    err = " ".join(result.stderr.split())
    assert result.returncode == 1
    assert (
        "[load/savedmodel] digits_savedmodel has no signature 'predict_v2'; it has ['serve', 'serving_default']" in err
    )
    assert snapshot(out) == {}


def test_keras_to_tfjs_goes_through_a_savedmodel(env, keras_models):
    result = run_cli(env, "convert", str(keras_models / "digits.keras"), "--to", "tfjs", "--quantize", "fp16", "--plan")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [" ".join(line.split()) for line in result.stderr.splitlines()]
    assert any(line.startswith("emit/keras-savedmodel [tf] <- load/keras") for line in lines)
    assert any(line.startswith("emit/tfjs [tfjs] <- emit/keras-savedmodel") for line in lines)
    assert any(line.startswith("validate/tfjs fp16 [tfjs] <- quantize/tfjs fp16") for line in lines)


def test_node_packages_are_part_of_the_runtime_identity(tmp_path):
    """tfjs's venv is keyed by both locks and finds @tensorflow/tfjs; venvs without Node packages keep their paths."""
    assert runtime_sha256("tf") == lock_sha256("tf")
    assert runtime_sha256("tfjs") != lock_sha256("tfjs")
    venvs = VenvRuntime(tmp_path)
    assert venvs.path("tf").name == f"tf-{lock_sha256('tf')[:16]}b"
    assert "NODE_PATH" not in venvs.environment("tf")
    node_path = venvs.environment("tfjs")["NODE_PATH"]
    assert node_path == str(venvs.path("tfjs") / "node" / "node_modules")


def test_tfjs_runs_on_the_wasm_backend_within_the_gate_of_the_cpu_backend(env):
    """TFJS graph models run in Node.js on @tensorflow/tfjs-backend-wasm (its .wasm files from the npm
    package, read from disk): nsfwjs' MobileNetV2 from npm, on the same inputs on both backends, within
    the fp32 gate of the pure-JS CPU backend's outputs (tests/helpers/tfjs_backends.py, in the tfjs runtime)."""
    import re

    from bench.zoo import fetch
    from bench.zoo.catalog import BY_NAME

    folder = fetch.source(BY_NAME["nsfwjs-mobilenet-v2-mid"], download=False).parent
    result = run_cli(env, "runtime", "exec", "tfjs", "--", "python", "tests/helpers/tfjs_backends.py", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    found = re.search(r"wasm ran on (\w+) .* cpu on (\w+) .*max abs diff (\S+) of max (\S+)", result.stdout)
    assert found and found.group(1) == "wasm" and found.group(2) == "cpu", result.stdout
    assert float(found.group(3)) <= 1e-4 * max(1.0, float(found.group(4))), result.stdout
