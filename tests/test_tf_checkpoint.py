"""TF1 checkpoints as a source (issue 20, part 3): a meta graph + its weights, trained here with tf.compat.v1,
frozen without running any of its ops, then every TF route; and TF1 SavedModels tagged other than serve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from flows.source import resolve
from tests.conftest import in_runtime, latest_run, read_report, run_cli, snapshot


@pytest.fixture(scope="module")
def checkpoints(env, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("checkpoints")
    in_runtime(env, "tf", "tests/helpers/make_checkpoints.py", str(out))
    np.savez(out / "features.npz", features=np.load(out / "features.npy"))
    np.savez(out / "images.npz", image=np.load(out / "images.npy"))
    return out


def test_a_checkpoint_is_its_folder_its_prefix_or_any_of_its_files(checkpoints):
    folder = checkpoints / "ref"
    want = {
        "meta": folder / "model.ckpt-300.meta",
        "index": folder / "model.ckpt-300.index",
        "data-0": folder / "model.ckpt-300.data-00000-of-00001",
    }
    for pointed in (folder, folder / "model.ckpt-300", *want.values()):
        found = resolve(pointed)
        assert (found.format, found.files, found.name) == ("tf-checkpoint", want, "ref"), pointed


def _converted(env, out: Path, source: Path, *args: str) -> dict:
    result = run_cli(env, "convert", str(source), "--to", "onnx,tflite,savedmodel", "--out", str(out), *args)
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(out))
    assert all(a["published"] for a in report["artifacts"]), report["artifacts"]
    return report


def test_a_trained_checkpoint_converts_with_its_training_graph_cut_away(env, checkpoints, tmp_path):
    out = tmp_path / "out"
    report = _converted(
        env, out, checkpoints / "ref", "--outputs", "probs", "--samples", str(checkpoints / "features.npz")
    )
    read = report["source"]["read"]
    assert read["frozen"] == "checkpoint" and read["outputs"] == ["probs"]
    assert read["nodes"] < read["checkpoint_nodes"] / 3  # the gradients, Adam's slots and the saver cut away
    assert [t["name"] for t in report["artifacts"][0]["outputs"]] == ["probs"]
    # The frozen graph computes what the trained session did: the published ONNX, run here, against it.
    run = latest_run(out)
    onnx_out = tmp_path / "onnx_out.npz"
    in_runtime(
        env,
        "tf",
        "tests/helpers/onnx_forward.py",
        str(run / "ref.onnx"),
        str(checkpoints / "features.npz"),
        str(onnx_out),
    )
    expected = np.array(json.loads((checkpoints / "expected.json").read_text())["ref"])
    assert np.abs(np.load(onnx_out)["out:probs"] - expected).max() < 1e-5


def test_resource_variables_and_a_sharded_saver(env, checkpoints, tmp_path):
    report = _converted(
        env,
        tmp_path / "out",
        checkpoints / "resource" / "model.ckpt-50",
        "--outputs",
        "conv/logits",
        "--samples",
        str(checkpoints / "images.npz"),
    )
    assert [t["name"] for t in report["artifacts"][0]["inputs"]] == ["image"]


def test_a_serving_signature_in_the_meta_graph_names_the_outputs(env, checkpoints, tmp_path):
    report = _converted(
        env, tmp_path / "out", checkpoints / "signed" / "model.ckpt.meta", "--input-range", "features:-3,3"
    )
    assert [t["name"] for t in report["artifacts"][0]["outputs"]] == ["probs"]


@pytest.mark.parametrize(
    "source, args, message",
    [
        ("ref", [], "model.ckpt-300.meta is a training checkpoint: name the outputs to freeze with --outputs"),
        ("ref", ["--outputs", "nope"], "--outputs names ['nope'], not nodes of model.ckpt-300.meta"),
        ("hostile", ["--outputs", "out"], "WriteFile"),
    ],
)
def test_a_checkpoint_that_cannot_be_frozen_or_reaches_out_is_refused(
    env, checkpoints, tmp_path, source, args, message
):
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(checkpoints / source), "--to", "onnx", "--out", str(out), *args)
    assert result.returncode == 1, result.stderr[-3000:]
    err = " ".join(result.stderr.split())
    assert message in err and "[load/tf-checkpoint]" in err, err
    assert snapshot(out) == {} and not (checkpoints / "hostile-marker").exists()


def test_a_checkpoint_without_its_meta_graph_is_refused_naming_the_file(env, checkpoints, tmp_path):
    folder = tmp_path / "weights-only"
    folder.mkdir()
    for path in (checkpoints / "ref").glob("model.ckpt-300.*"):
        if path.suffix != ".meta":
            (folder / path.name).write_bytes(path.read_bytes())
    result = run_cli(env, "convert", str(folder / "model.ckpt-300.index"), "--to", "onnx", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "model.ckpt-300.meta) the checkpoint has no model.ckpt-300.meta: modelferry needs its graph" in " ".join(
        result.stderr.split()
    )


def test_a_tf1_savedmodel_tagged_train_is_read_and_saved_again_for_the_routes(env, checkpoints, tmp_path):
    result = run_cli(
        env,
        "convert",
        str(checkpoints / "tf1_saved"),
        "--to",
        "onnx",
        "--out",
        str(tmp_path / "no"),
        "--tags",
        "serve",
        "--input-range",
        "features:-3,3",
    )
    assert result.returncode == 1
    assert (
        "tf1_saved has no meta graph tagged serve; its tag sets are [['train']] (choose one with --tags)"
        in " ".join(result.stderr.split())
    )
    report = _converted(
        env,
        tmp_path / "out",
        checkpoints / "tf1_saved",
        "--tags",
        "train",
        "--samples",
        str(checkpoints / "features.npz"),
    )
    assert report["source"]["read"] == {
        "signature": "serving_default",
        "tags": ["train"],
        "saved_again": "tags train -> serve",
    }
    assert [t["name"] for t in report["artifacts"][0]["outputs"]] == ["probs"]


def test_a_damaged_weights_index_is_named(env, checkpoints, tmp_path):
    folder = tmp_path / "damaged"
    folder.mkdir()
    for path in (checkpoints / "ref").glob("model.ckpt-300.*"):
        data = path.read_bytes()
        (folder / path.name).write_bytes(data[:100] if path.suffix == ".index" else data)
    result = run_cli(env, "convert", str(folder), "--outputs", "probs", "--to", "onnx", "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "model.ckpt-300.index, the weights of model.ckpt-300.meta, cannot be read" in " ".join(result.stderr.split())
