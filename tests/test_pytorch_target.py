"""The PyTorch target: ONNX -> torch.fx op by op with modelferry's own emitter, published as a folder of a
torch.export program, TorchScript and a state_dict, validated as the .pt2. The bundled MobileFaceNet (its
folder then loaded as a user would, at a batch it was not built at), a real model, an op the emitter
cannot convert, and every handler against ONNX Runtime."""

from __future__ import annotations

import json

import numpy as np

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

RUNTIME: tuple[str, ...] = ()  # the default runtime: the torch image where a Docker engine answers, else its venv


def test_every_handler_agrees_with_onnx_runtime(env):
    """One small ONNX graph per case (pads, ceil_mode, auto_pad, Resize modes, Slice with negative steps,
    sizes computed from Shape …), each built with a dynamic batch (and exported) and with a fixed one."""
    in_runtime(env, "torch", "tests/helpers/pytorch_op_cases.py")


def test_mobilefacenet_to_pytorch_and_its_folder_as_a_user_loads_it(env, face, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "onnx,pytorch",
        *RUNTIME,
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "face")
    by = {a["target"]: a for a in read_report(run)["artifacts"]}
    pytorch = by["pytorch"]
    assert pytorch["route"] == "surgery/mxnet → export/mxnet → emit/pytorch"
    assert pytorch["published"] and pytorch["parity"]["passed"] and pytorch["parity"]["max_abs_err"] < 1e-4
    assert pytorch["parity"]["top1_agreement"] == 1.0
    folder = run / pytorch["path"]
    assert folder.name == "face_pytorch" and folder.is_dir()
    assert sorted(p.name for p in folder.iterdir()) == ["model.pt", "model.pt2", "names.json", "state_dict.pt"]
    names = json.loads((folder / "names.json").read_text())
    assert names["inputs"] == {"data": "data"} and names["outputs"] == {"fc7": 0} and names["batch"] == "dynamic"

    # Three faces at once (the program was built at batch 1): the .pt2 and the TorchScript, as a user loads
    # them, give ONNX Runtime's outputs on the published ONNX model.
    faces = np.load(face / "labels.npz")["data"][:3].astype(np.float32)
    np.savez(tmp_path / "inputs.npz", data=faces)
    in_runtime(
        env,
        "torch",
        "tests/helpers/torch_forward.py",
        str(folder),
        str(tmp_path / "inputs.npz"),
        str(tmp_path / "torch.npz"),
    )
    in_runtime(
        env,
        "tf",
        "tests/helpers/onnx_forward.py",
        str(run / by["onnx"]["path"]),
        str(tmp_path / "inputs.npz"),
        str(tmp_path / "onnx.npz"),
    )
    by_torch, by_onnx = np.load(tmp_path / "torch.npz"), np.load(tmp_path / "onnx.npz")
    want = by_onnx["out:fc7"]
    assert want.shape == (3, 10)
    for kind in ("pt2", "pt"):
        assert np.max(np.abs(by_torch[f"{kind}:fc7"] - want)) < 1e-4, kind
    assert int(by_torch["state_dict_matches"]) == 1


def test_an_op_the_emitter_cannot_convert_is_named_and_nothing_is_published(env, tmp_path):
    in_runtime(env, "torch", "tests/helpers/make_onnx_unconvertible.py", str(tmp_path / "models"))
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(tmp_path / "models" / "branch.onnx"),
        "--input-shape",
        "x:1,4",
        "--to",
        "pytorch",
        *RUNTIME,
        "--out",
        str(out),
    )
    assert result.returncode == 1
    (artifact,) = failure_report(out, "branch")["artifacts"]
    assert not artifact["published"]
    assert "branch.onnx: the PyTorch emitter has no conversion for If (node 'choose')" in artifact["reason"]
    assert snapshot(out) == {}


def test_a_real_model_to_pytorch(env, tmp_path):
    """PaddleOCR's text-direction classifier (rapidocr's ONNX: HardSwish, squeeze-excite, Softmax)."""
    result, report = convert_zoo(env, "rapidocr-cls", tmp_path / "out", "--to", "pytorch", *RUNTIME)
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["route"] == "load/onnx → emit/pytorch"
    assert artifact["parity"]["passed"] and artifact["parity"]["max_abs_err"] < 1e-4
    assert [t["name"] for t in artifact["inputs"] + artifact["outputs"]] == ["x", "save_infer_model/scale_0.tmp_1"]
