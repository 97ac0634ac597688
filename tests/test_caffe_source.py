"""The Caffe source: prototxt + caffemodel read in pycaffe (golden outputs), the layers checked against an
allowlist before Caffe builds anything, and the net written as ONNX by modelferry's own emitter, then on to
every target. Caffe exists only as a container image: these tests need the Docker engine CI starts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.conftest import (
    INPUT_SHAPE,
    in_runtime,
    latest_run,
    newest_report,
    read_report,
    routes_as_documented,
    run_cli,
)

EVERY_TARGET = "onnx,tflite,savedmodel,tfjs,openvino,ncnn,mxnet,caffe,pytorch"


def in_caffe(env, out, *argv: str) -> None:
    result = run_cli(
        env,
        "runtime",
        "exec",
        "caffe",
        "--runtime",
        "docker",
        "--writable",
        str(out),
        "--",
        "python",
        "tests/helpers/make_caffe.py",
        *argv,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="session")
def caffe_nets(docker_env, session_dir):
    """LeNet trained by Caffe's solver on scikit-learn's digits, a net of every layer family with random
    weights, and an old V1 net."""
    out = session_dir / "caffe-nets"
    out.mkdir()
    in_runtime(docker_env, "mxnet", "tests/helpers/digits.py", str(out / "digits.npz"))
    in_caffe(docker_env, out, "digits", str(out / "digits.npz"), str(out / "lenet"))
    in_caffe(docker_env, out, "layers", str(out / "layers"))
    in_caffe(docker_env, out, "v1", str(out / "v1"))
    in_caffe(docker_env, out, "more", str(out / "more"))
    return out


def convert(env, source, out, *extra: str):
    return run_cli(env, "convert", str(source), "--runtime", "docker", "--out", str(out), *extra)


def test_a_lenet_trained_in_caffe_reaches_every_target(docker_env, caffe_nets, tmp_path):
    """Pointed at its .caffemodel (the prototxt of the same stem is found), on held-out digits: every
    target within the fp32 gate of pycaffe's outputs, each choosing the same digit."""
    lenet = caffe_nets / "lenet"
    result = convert(
        docker_env,
        lenet / "lenet.caffemodel",
        tmp_path / "out",
        "--to",
        EVERY_TARGET,
        "--samples",
        str(lenet / "held.npz"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_report(latest_run(tmp_path / "out", "lenet"))
    assert len(report["artifacts"]) == 9
    for artifact in report["artifacts"]:
        assert artifact["published"] and artifact["parity"]["top1_agreement"] == 1.0, artifact["target"]
        assert list(artifact["parity"]["outputs"]) == ["prob"]
    assert report["artifacts"][0]["route"] == "load/caffe → export/caffe"
    assert routes_as_documented(report) == []


def test_every_layer_family_in_place_layers_and_the_nets_names(docker_env, caffe_nets, tmp_path):
    """Convolution (dilated, grouped), Deconvolution, ceil-mode pooling (max, and average with padding),
    BatchNorm with its scale factor + Scale, PReLU, Eltwise SUM with coefficients/PROD/MAX, LRN across and
    within channels, Concat, Slice, Split, Flatten, Reshape, InnerProduct, Softmax, Dropout, ELU, Power,
    AbsVal: ONNX and the targets that take them, by the net's output blobs."""
    result = convert(
        docker_env,
        caffe_nets / "layers" / "layers.prototxt",
        tmp_path / "out",
        "--to",
        "onnx,tflite,openvino,ncnn,pytorch",
        "--input-range",
        "data:0,1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(tmp_path / "out", "layers")
    report = read_report(run)
    for artifact in report["artifacts"]:
        assert artifact["published"] and set(artifact["parity"]["outputs"]) == {"prob", "shaped"}
        assert artifact["parity"]["max_abs_err"] < 1e-5, artifact["target"]
    in_runtime(docker_env, "tf", "tests/helpers/onnx_nodes.py", str(run / "layers.onnx"), str(tmp_path / "n.json"))
    nodes = json.loads((tmp_path / "n.json").read_text())
    # in place: conv1 is written by conv1, bn1, scale1 and relu1; the last write keeps the blob's name
    assert nodes["relu1"]["outputs"] == ["conv1"] and nodes["conv1"]["outputs"] == ["conv1/conv1"]
    assert nodes["pool1"]["op"] == "MaxPool" and nodes["within"]["op"] == "Mul"
    assert {"BatchNormalization", "ConvTranspose", "LRN", "PRelu", "Split", "Sum", "Max"} <= {
        node["op"] for node in nodes.values()
    }


def test_the_rarer_layers(docker_env, caffe_nets, tmp_path):
    """Scale by a second bottom (squeeze-excite, axis 0, with a learned bias), Bias, Swish, Clip, BNLL, Exp and
    Log with a base, MVN, Crop (one offset, and one per axis), Tile, Reduction (SUMSQ, MEAN), ArgMax on an
    axis, Threshold, Silence: every output by its blob's name, in ONNX, TFLite and PyTorch."""
    result = convert(
        docker_env,
        caffe_nets / "more" / "more.prototxt",
        tmp_path / "out",
        "--to",
        "onnx,tflite,pytorch",
        "--input-range",
        "data:0,1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for artifact in read_report(latest_run(tmp_path / "out", "more"))["artifacts"]:
        assert artifact["published"], artifact["target"]
        assert set(artifact["parity"]["outputs"]) == {"sum", "mean", "argmax", "step"}


def test_a_v1_net_with_input_dims(docker_env, caffe_nets, tmp_path):
    result = convert(docker_env, caffe_nets / "v1" / "old.prototxt", tmp_path / "out", "--to", "onnx")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = read_report(latest_run(tmp_path / "out", "old"))["artifacts"]
    assert artifact["published"] and artifact["inputs"][0]["shape"] == [1, 3, 12, 12]


def broken(caffe_nets, tmp_path, name: str, extra_layer: str = "", edit=None):
    """LeNet's deploy net with a layer added before its softmax (or edited), beside its trained weights."""
    folder = tmp_path / name
    folder.mkdir()
    text = (caffe_nets / "lenet" / "lenet.prototxt").read_text()
    text = text.replace('layer { name: "prob"', f'{extra_layer}\nlayer {{ name: "prob"') if extra_layer else text
    (folder / f"{name}.prototxt").write_text(edit(text) if edit else text)
    shutil.copyfile(caffe_nets / "lenet" / "lenet.caffemodel", folder / f"{name}.caffemodel")
    return folder / f"{name}.prototxt"


REFUSED = {
    "python": (
        'layer { name: "evil" type: "Python" bottom: "fc2" top: "evil" '
        'python_param { module: "os" layer: "system" param_str: "touch MARKER" } }',
        "[load/caffe] python.prototxt holds layers outside modelferry's allowlist",
        "Python (node 'evil')",
    ),
    "hdf5": (
        'layer { name: "dump" type: "HDF5Output" bottom: "fc2" bottom: "fc2" '
        'hdf5_output_param { file_name: "MARKER" } }',
        "[load/caffe] hdf5.prototxt holds layers",
        "HDF5Output (node 'dump')",
    ),
    "fork": (
        'layer { name: "up" type: "Interp" bottom: "fc2" top: "up" }',
        "[load/caffe] fork.prototxt has layer types BVLC Caffe 1.0 does not have",
        "Interp (layer 'up')",
    ),
    "spp": (
        'layer { name: "spp" type: "SPP" bottom: "pool1" top: "spp" spp_param { pyramid_height: 2 } }',
        "[export/caffe] spp.prototxt: modelferry cannot write Caffe's SPP layer 'spp' as ONNX",
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_layers_are_named_and_nothing_runs(docker_env, caffe_nets, tmp_path, case):
    layer, said, named = REFUSED[case]
    marker = tmp_path / "marker"
    prototxt = broken(caffe_nets, tmp_path, case, layer.replace("MARKER", str(marker)))
    result = convert(docker_env, prototxt, tmp_path / "out", "--to", "onnx")
    assert result.returncode == 1 and said in result.stderr and named in result.stderr, result.stderr[-2000:]
    assert not marker.exists()
    assert not any(a["published"] for a in newest_report(tmp_path / "out")["artifacts"])


def test_weights_that_do_not_fit_are_refused_before_caffe_crashes(docker_env, caffe_nets, tmp_path):
    wrong = broken(caffe_nets, tmp_path, "wrong", edit=lambda text: text.replace("num_output: 32", "num_output: 31"))
    result = convert(docker_env, wrong, tmp_path / "out", "--to", "onnx")
    assert result.returncode == 1
    assert (
        "[load/caffe] wrong.caffemodel: layer 'fc1' blob 0 holds 8192 values; wrong.prototxt makes it [31, 256]"
        in result.stderr
    )
    cut = broken(caffe_nets, tmp_path, "cut")
    weights = cut.with_suffix(".caffemodel")
    weights.write_bytes(weights.read_bytes()[:3000])
    result = convert(docker_env, cut, tmp_path / "out", "--to", "onnx")
    assert result.returncode == 1 and "[load/caffe] cut.caffemodel cannot be read: it is cut short" in result.stderr


def test_a_prototxt_without_its_weights_is_refused_naming_it(env, tmp_path):
    net = tmp_path / "deploy.prototxt"
    net.write_text('layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 } } }\n')
    result = run_cli(env, "convert", str(net), "--to", "onnx", "--out", str(tmp_path / "out"))
    assert (
        result.returncode == 1
        and "deploy.prototxt" in result.stderr
        and "no weights file (.caffemodel)" in result.stderr
    )


@pytest.mark.slow
def test_mobilefacenet_round_trip_through_modelferrys_caffe_target(docker_env, face, tmp_path):
    """MobileFaceNet (MXNet) -> Caffe with modelferry's Caffe target, then that Caffe model as a source to every
    target: each within the gate of pycaffe's outputs, and the ONNX within 1e-4 of MXNet's own."""
    first = run_cli(
        docker_env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "caffe",
        "--runtime",
        "docker",
        "--out",
        str(tmp_path / "first"),
    )
    assert first.returncode == 0, first.stderr[-3000:]
    run = latest_run(tmp_path / "first", "face")
    (artifact,) = read_report(run)["artifacts"]
    prototxt = run / artifact["path"] / "model.prototxt"
    samples = tmp_path / "samples.npz"
    held = np.load(face / "labels.npz")
    np.savez(samples, data=held["data"][:8].astype(np.float32))
    result = convert(docker_env, prototxt, tmp_path / "again", "--to", EVERY_TARGET, "--samples", str(samples))
    assert result.returncode == 0, result.stderr[-3000:]
    again = latest_run(tmp_path / "again", "face_caffe")  # a file called model is named by its folder
    report = read_report(again)
    assert all(a["published"] for a in report["artifacts"]), [a.get("reason") for a in report["artifacts"]]
    mx_out, onnx_out = tmp_path / "mx.npz", tmp_path / "onnx.npz"
    in_runtime(docker_env, "mxnet", "tests/helpers/mxnet_forward.py", str(face / "model"), str(samples), str(mx_out))
    in_runtime(
        docker_env, "tf", "tests/helpers/onnx_forward.py", str(again / "face_caffe.onnx"), str(samples), str(onnx_out)
    )
    np.testing.assert_allclose(np.load(onnx_out)["out:fc7"], np.load(mx_out)["fc7_output"], atol=1e-4, rtol=1e-4)


def zoo_source(name: str):
    from bench.zoo import fetch
    from bench.zoo.catalog import BY_NAME

    try:
        return fetch.source(BY_NAME[name], download=False)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


def test_the_original_mtcnn_caffe_nets_to_ncnn_and_their_conventions(docker_env, tmp_path):
    """The seed's conversion: MTCNN's ONet as the original Caffe model (det3.prototxt, facenet-pytorch's weights
    transposed back) to ncnn, within the gate. And the rebuild is the original's: on transposed images, its
    ONNX gives what facenet-pytorch's ONet gives on the images themselves (face probability, box, landmarks)."""
    det3 = zoo_source("mtcnn-onet-caffe")
    result = convert(docker_env, det3, tmp_path / "out", "--to", "onnx,ncnn", "--mean", "127.5", "--std", "128")
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(tmp_path / "out", "det3")
    report = read_report(run)
    assert all(a["published"] for a in report["artifacts"])
    ncnn = report["artifacts"][1]
    assert set(ncnn["parity"]["outputs"]) == {"prob1", "conv6-2", "conv6-3"} and ncnn["parity"]["max_abs_err"] < 1e-4
    images = np.random.default_rng(0).uniform(-1, 1, (4, 3, 48, 48)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=images)
    np.savez(tmp_path / "xt.npz", data=np.ascontiguousarray(images.transpose(0, 1, 3, 2)))
    in_runtime(
        docker_env,
        "torch",
        "tests/helpers/pt2_forward.py",
        str(zoo_source("mtcnn-onet-pt2")),
        str(tmp_path / "x.npz"),
        str(tmp_path / "torch.npz"),
    )
    in_runtime(
        docker_env,
        "tf",
        "tests/helpers/onnx_forward.py",
        str(run / "det3.onnx"),
        str(tmp_path / "xt.npz"),
        str(tmp_path / "caffe.npz"),
    )
    torch_out, caffe_out = np.load(tmp_path / "torch.npz"), np.load(tmp_path / "caffe.npz")
    # facenet-pytorch's ONet returns (box, landmarks, probability)
    for ours, theirs in (("conv6-2", "out0"), ("conv6-3", "out1"), ("prob1", "out2")):
        np.testing.assert_allclose(caffe_out[f"out:{ours}"], torch_out[theirs], atol=1e-4, rtol=1e-4)
