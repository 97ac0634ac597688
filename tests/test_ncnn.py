"""The ncnn target: ONNX -> .param + .bin with pnnx (the static binary of its wheel), validated with the
ncnn binding in its own runtime (fp16 storage and arithmetic off for fp32, on for fp16); on the bundled
MobileFaceNet, a Keras MTCNN PNet built here, and real models."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import INPUT_SHAPE, convert_zoo, in_runtime, latest_run, newest_report, read_report, run_cli

FILES = ["model.ncnn.bin", "model.ncnn.param", "names.json"]


def test_mobilefacenet_to_ncnn_fp32_and_fp16(env, face, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "ncnn",
        "--quantize",
        "fp16",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "face")
    fp32, fp16 = read_report(run)["artifacts"]
    assert fp32["route"].endswith("export/mxnet → emit/ncnn") and fp32["parity"]["max_abs_err"] < 1e-4
    assert fp16["precision"] == "fp16" and fp16["parity"]["passed"] and fp16["parity"]["cosine"] > 0.999
    for artifact in (fp32, fp16):
        folder = run / artifact["path"]
        assert sorted(p.name for p in folder.iterdir()) == FILES
        # the blobs pnnx names in0/out0, mapped back to the model's own names
        assert json.loads((folder / "names.json").read_text()) == {
            "inputs": {"in0": "data"},
            "outputs": {"out0": "fc7"},
        }
        assert [(t["name"], t["name_in_artifact"]) for t in artifact["outputs"]] == [("fc7_output", "out0")]
    weights = {a["precision"]: (run / a["path"] / "model.ncnn.bin").stat().st_size for a in (fp32, fp16)}
    assert weights["fp16"] < 0.6 * weights["fp32"]  # fp16 weights only in the fp16 artifact


def test_a_keras_mtcnn_pnet_to_ncnn(env, keras_pnet, tmp_path):
    """PReLU shared over space, max pooling, two outputs (a softmax and a box head), from Keras through
    tf2onnx: both outputs within the fp32 gate of Keras' own (inputs 0-255: the box head's values are
    large), by the model's output names."""
    out = tmp_path / "out"
    result = run_cli(env, "convert", str(keras_pnet), "--to", "ncnn", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = read_report(latest_run(out, "pnet"))["artifacts"]
    assert artifact["route"] == "load/keras → export/keras → emit/ncnn"
    assert set(artifact["parity"]["outputs"]) == {"prob", "box"}
    assert artifact["published"] and all(
        o["passed"] and o["cosine"] > 0.99999 for o in artifact["parity"]["outputs"].values()
    )


def test_a_real_model_to_ncnn(env, tmp_path):
    """PaddleOCR's text-direction classifier (rapidocr's ONNX: HardSwish, squeeze-excite) within the fp32
    gate of ONNX Runtime's outputs."""
    result, report = convert_zoo(env, "rapidocr-cls", tmp_path / "out", "--to", "ncnn")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["max_abs_err"] < 1e-4


def test_an_op_pnnx_leaves_unconverted_is_named_and_nothing_is_published(env, tmp_path):
    """A MiniLM quantized to int8 (dynamic quantization's ops): pnnx keeps GatherND and others as ONNX's
    or torch's ops, which ncnn has no layers for (loading the file would crash ncnn). The one-line reason
    names the ops, their nodes and pnnx's own words; the ONNX target asked beside it is still published."""
    result, report = convert_zoo(env, "minilm-int8-onnx", tmp_path / "out", "--to", "onnx,ncnn")
    assert result.returncode == 1
    onnx, ncnn = report["artifacts"]
    assert onnx["published"] and not ncnn["published"]
    assert "model.onnx: pnnx left op(s) ncnn has no layer for: " in ncnn["reason"]
    assert "GatherND (" in ncnn["reason"] and "(pnnx: ignore " in ncnn["reason"]


def test_a_layer_ncnn_cannot_compute_is_named(env):
    """A param file whose Crop starts past the end of its blob (pnnx once wrote basic-pitch's constant-Q
    transform so): the runner names that layer, found by running the file layer by layer, not only the
    output ncnn could not compute (tests/helpers/ncnn_failing_layer.py, in the ncnn runtime)."""
    result = run_cli(env, "runtime", "exec", "ncnn", "--", "python", "tests/helpers/ncnn_failing_layer.py")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "ncnn could not compute output blob out0: layer too_far (Crop) fails with error -100" in result.stdout


def test_basic_pitch_reaches_ncnn(env, tmp_path):
    """basic-pitch's ONNX: ReduceMin/ReduceMax over two axes (reduce-axes), TensorFlow's div_no_nan
    (div-no-nan: pnnx left Equal and Where), and a one-axis sum of a rank-4 spectrogram whose Reduction pnnx
    wrote without its axis (sum-axes); within the fp32 gate on all three outputs."""
    result, report = convert_zoo(env, "basic-pitch-onnx", tmp_path / "out", "--to", "ncnn")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and len(artifact["parity"]["outputs"]) == 3
    assert {"reduce-axes", "div-no-nan", "sum-axes"} <= set(artifact["legalized"])


def test_a_strided_slice_pnnx_leaves_is_legalized_and_converted_again(env, tmp_path):
    """ddddocr's detector (a YOLOX): its "Focus" input layer takes x[..., ::2, ::2] and three other phases,
    which pnnx leaves as Tensor.slice with step 2. The strided-slice pass writes each as Reshape, a plain
    Slice and Reshape, pnnx converts that graph, and the ncnn files pass the fp32 gate; the report says so."""
    result, report = convert_zoo(env, "ddddocr-det", tmp_path / "out", "--to", "ncnn")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["max_abs_err"] < 1e-3
    assert artifact["legalized"] == {"strided-slice": 8}


def test_lstm_and_gru_as_torch_export_writes_them_reach_ncnn(env, tmp_path):
    """g2p_en's encoder-decoder through torch.export: its GRUs' weights are an Unsqueeze of a Concat, the
    encoder's GRU has its Y unread and its Y_h starting the decoder; pnnx made ONNX-typed GRU layers of it
    that ncnn refused to load. The recurrent pass folds the weights and reads Y through a Squeeze, Y_h as its
    last step: pnnx writes ncnn's GRU, within the fp32 gate."""
    result, report = convert_zoo(env, "g2p-pt2", tmp_path / "out", "--to", "ncnn")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.99999
    assert artifact["legalized"]["recurrent"] == 2


@pytest.fixture(scope="module")
def lstm_state(env, session_dir):
    out = session_dir / "lstm_state"
    in_runtime(env, "tf", "tests/helpers/make_onnx_lstm_state.py", str(out))
    return out


STATES = ("--input-range", "x:-1,1", "--input-range", "h:-1,1", "--input-range", "c:-1,1")


def test_an_lstm_step_with_its_state_is_written_as_ncnns_lstm(env, lstm_state, tmp_path):
    """One LSTM step, its state in and out, Y unread (tests/helpers/make_onnx_lstm_state.py): pnnx leaves
    it as ONNX's LSTM; modelferry writes ncnn's LSTM layer of three inputs and outputs, its weights where
    pnnx's MemoryData held them. Within the fp32 gate on random states, both state outputs."""
    result = run_cli(
        env, "convert", str(lstm_state / "lstm_step.onnx"), "--to", "ncnn", *STATES, "--out", str(tmp_path / "out")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(tmp_path / "out", "lstm_step")
    (artifact,) = read_report(run)["artifacts"]
    assert artifact["published"] and set(artifact["parity"]["outputs"]) == {"h_out", "c_out"}
    assert all(o["passed"] for o in artifact["parity"]["outputs"].values())
    param = (run / artifact["path"] / "model.ncnn.param").read_text()
    assert re.search(r"^LSTM +\S+ +3 3 in0 in1 in2 \S+ out0 out1 0=16 1=512 2=0 3=16$", param, re.M), param
    assert "MemoryData" not in param


@pytest.mark.slow
def test_a_keras_gru_written_as_a_loop_reaches_ncnn(env, tmp_path):
    """A Keras GRU that tf2onnx writes as a Loop over 200 steps: pnnx leaves the Loop; unrolled (loop-unroll),
    its steps' Gathers from the time-major input leave the Transpose pnnx cannot follow (gather-transpose)
    and its gate Split gets its sizes (split-sizes: pnnx wrote a Slice without them, which crashed ncnn),
    round after round; within the fp32 gate."""
    result, report = convert_zoo(env, "ao-gru-keras", tmp_path / "out", "--to", "ncnn")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.99999
    assert {"loop-unroll", "gather-transpose", "split-sizes"} <= set(artifact["legalized"])


def test_a_param_file_ncnn_refuses_names_the_layer(env, lstm_state, tmp_path):
    """A reverse LSTM over four steps with its state: no form pnnx or modelferry writes as ncnn's LSTM, and
    pnnx leaves a param line ncnn's own loader refuses. The reason names the layer ncnn refused and its type
    (read from what ncnn says while loading), not just that the files do not load."""
    result = run_cli(
        env, "convert", str(lstm_state / "lstm_reverse.onnx"), "--to", "ncnn", *STATES, "--out", str(tmp_path / "out")
    )
    assert result.returncode == 1
    (artifact,) = newest_report(tmp_path / "out")["artifacts"]
    assert not artifact["published"]
    assert re.search(r"ncnn cannot load the files pnnx wrote: layer \S+ \(LSTM\): ncnn says ", artifact["reason"])


def test_silero_vad_reaches_ncnn(env, tmp_path):
    """silero-vad: an If on the sample rate (bound to 16000), a `state` input of [2, 1, 128] whose first axis
    is no batch, an LSTM step. The If is folded, the state is one blob of its own (batch-axis: the report says
    so), and the LSTM step is written as ncnn's; within the fp32 gate on random states."""
    result, report = convert_zoo(env, "silero-vad", tmp_path / "out", "--to", "ncnn", "--input-range", "state:-1,1")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and set(artifact["parity"]["outputs"]) == {"output", "stateN"}
    assert {"constant-if", "batch-axis"} <= set(artifact["legalized"])
    state = next(spec for spec in artifact["inputs"] if spec["name"] == "state")
    assert state["shape"] == [2, 1, 128] and "the whole [2, 1, 128] array is one blob" in state["note"]


def test_the_own_writers_layers_match_onnxs_reference(env):
    """modelferry's own ncnn writer (stages/ncnn/layers.py), handler by handler: convolutions (grouped,
    dilated, transposed), pooling, Pad, InnerProduct of rows, norms, Softmax, Crop, Slice, Permute of 4 and 5
    axes, Interp, Reduction, BinaryOp with scalars on either side and blobs of two ranks, a one-hot of token
    ids; each file run in ncnn against ONNX's reference implementation; and the refusals it must make
    (tests/helpers/check_ncnn_layers.py, in the ncnn runtime)."""
    result = run_cli(env, "runtime", "exec", "ncnn", "--", "python", "tests/helpers/check_ncnn_layers.py")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len([line for line in lines if line.startswith("ok ")]) == 31, result.stdout
    assert len([line for line in lines if line.startswith("refused ")]) == 4, result.stdout


def test_magika_reaches_ncnn_by_the_own_writer(env, tmp_path):
    """magika (a file-type classifier from JAX through tf2onnx: a one-hot of raw bytes, dense layers, a
    LayerNorm written out, a convolution): pnnx crashes in its ncnn pass, and the route after it, the
    param file modelferry writes layer by layer, passes the fp32 gate, and its fp16 weights the fp16 gate.
    The blobs keep the model's names."""
    result, report = convert_zoo(env, "magika", tmp_path / "out", "--to", "ncnn", "--quantize", "fp16")
    assert result.returncode == 0, result.stderr[-3000:]
    by = {a["precision"]: a for a in report["artifacts"]}
    assert by["fp32"]["route"] == "load/onnx → emit/ncnn-own" and by["fp32"]["parity"]["max_abs_err"] < 1e-5
    assert by["fp16"]["route"].endswith("emit/ncnn-own → quantize/ncnn fp16") and by["fp16"]["published"]
    run = latest_run(tmp_path / "out", "standard_v3_3")
    for artifact in by.values():
        names = json.loads((run / artifact["path"] / "names.json").read_text())
        assert names == {"inputs": {"bytes": "bytes"}, "outputs": {"target_label": "target_label"}}
    sizes = {p: (run / a["path"] / "model.ncnn.bin").stat().st_size for p, a in by.items()}
    assert sizes["fp16"] < 0.55 * sizes["fp32"]
