"""The MXNet target: ONNX -> symbol JSON + params with modelferry's own emitter (one handler per op), run
and validated in MXNet; a PyTorch ResNet-style network, the bundled MobileFaceNet, a real model, and an op
it cannot convert."""

from __future__ import annotations

import json

import pytest

from tests.conftest import INPUT_SHAPE, convert_zoo, in_runtime, latest_run, newest_report, read_report, run_cli


def nodes(run, artifact: dict, op: str) -> list[dict]:
    graph = json.loads((run / artifact["path"] / "model-symbol.json").read_text())
    return [node for node in graph["nodes"] if node["op"] == op]


def test_every_handler_agrees_with_onnxs_reference(env):
    """One small ONNX graph per case, at least one per registered op (the helper fails on an op with none):
    pads, ceil_mode, groups and dilations, broadcasts, bools as 1 and 0, NaN and Inf, negative slice steps,
    Expand to more axes, Resize with an omitted roi, LSTM and GRU; an even LRN window refused, naming it."""
    in_runtime(env, "mxnet", "tests/helpers/mxnet_op_cases.py")


@pytest.fixture(scope="module")
def resnet(env, session_dir):
    out = session_dir / "torch_resnet"
    in_runtime(env, "torch", "tests/helpers/make_torch_resnet.py", str(out))
    return out / "resnet.pt"


def test_a_pytorch_resnet_to_mxnet_keeps_ceil_mode_pooling(env, resnet, tmp_path):
    """MaxPool(3, stride 2, padding 1, ceil_mode) on a 32x32 map: 17x17 in PyTorch, 16x16 in MXNet's
    default 'valid' convention (what MXNet's own ONNX importer writes). The emitter writes 'full' with the
    stride and padding spelt out, and the checkpoint matches PyTorch's outputs."""
    out = tmp_path / "out"
    result = run_cli(
        env, "convert", str(resnet), "--input-shape", "image:1,3,64,64", "--to", "mxnet", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "resnet")
    (artifact,) = read_report(run)["artifacts"]
    assert artifact["route"] == "load/torchscript → export/torch → emit/mxnet"
    assert artifact["parity"]["passed"] and artifact["parity"]["max_abs_err"] < 1e-4
    assert sorted(p.name for p in (run / artifact["path"]).iterdir()) == ["model-0000.params", "model-symbol.json"]
    (pool,) = nodes(run, artifact, "Pooling")
    assert {k: pool["attrs"][k] for k in ("pooling_convention", "stride", "pad", "kernel")} == {
        "pooling_convention": "full",
        "stride": "(2, 2)",
        "pad": "(1, 1)",
        "kernel": "(3, 3)",
    }


def test_mobilefacenet_through_onnx_back_to_mxnet_keeps_batchnorm_exact(env, face, tmp_path):
    """insightface's BatchNorm eps (2e-5) and gamma survive: MXNet's defaults (eps 1e-3, fix_gamma=True)
    are never left to apply."""
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "mxnet",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "face")
    (artifact,) = read_report(run)["artifacts"]
    assert artifact["parity"]["max_abs_err"] < 1e-4 and artifact["parity"]["top1_agreement"] == 1.0
    norms = nodes(run, artifact, "BatchNorm")
    assert norms and all(
        n["attrs"]["fix_gamma"] == "False"
        and n["attrs"]["use_global_stats"] == "True"
        and abs(float(n["attrs"]["eps"]) - 2e-5) < 1e-9
        for n in norms
    )
    assert [t.get("name_in_artifact", t["name"]) for t in artifact["outputs"]] == ["fc7_output"]  # MXNet's own name


def test_a_real_model_to_mxnet(env, tmp_path):
    """PaddleOCR's text-direction classifier (rapidocr's ONNX: HardSwish, squeeze-excite, Softmax)."""
    result, report = convert_zoo(env, "rapidocr-cls", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["max_abs_err"] < 1e-4


def test_a_detector_whose_nearest_resize_is_upsampling(env, tmp_path):
    """ddddocr's detector (a YOLOX: Focus slices, SiLU, nearest Resize x2 in PaddleOCR's asymmetric/floor
    mode): each Resize, found to repeat every element twice by ONNX's own index formula, is UpSampling."""
    result, report = convert_zoo(env, "ddddocr-det", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.999999


def test_a_bert_style_encoder_with_token_ids(env, tmp_path):
    """paraphrase-MiniLM-L3 (ONNX opset 17): int64 ids feed a Gather (MXNet's take), LayerNormalization,
    Erf, the attention mask through Equal, Where and Expand (bools held as 1 and 0); within the fp32 gate."""
    result, report = convert_zoo(env, "paraphrase-minilm-onnx", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["max_abs_err"] < 1e-4
    assert [t["dtype"] for t in artifact["inputs"]] == ["int64", "int64"]


def test_a_bidirectional_lstm_as_mxnets_fused_rnn(env, tmp_path):
    """ddddocr's OCR model: a CNN, then a bidirectional ONNX LSTM (hidden 512) repacked into MXNet's fused RNN
    (gates reordered, both directions' weights then biases in one parameter); within the fp32 gate."""
    result, report = convert_zoo(env, "ddddocr-ocr", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.999999


def test_an_if_decided_when_the_graph_is_built_and_an_lstm(env, tmp_path):
    """silero-vad's opset-18 export: its If tests the sample rate, bound to 16000 (--bind), so the
    constant-if pass puts the taken branch in the graph; its LSTM becomes MXNet's fused RNN. The report
    says what was rewritten."""
    result, report = convert_zoo(env, "silero-vad-ifless", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["max_abs_err"] < 1e-4
    assert artifact["legalized"] == {"constant-if": 1}


def test_an_if_whose_branch_is_passed_on_by_identities(env, tmp_path):
    """silero-vad's other export: its taken If branch ends in a chain of Identity nodes, which MXNet's _copy
    once wrote, and MXNet's MKLDNN subgraph pass then lost an argument at bind ("Check failed:
    in_arg_ctx_map.count(arg_name)"). An Identity is its input's symbol now; within the fp32 gate on random
    states, by the model's output names."""
    result, report = convert_zoo(env, "silero-vad", tmp_path / "out", "--to", "mxnet", "--input-range", "state:-1,1")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and sorted(t["name"] for t in artifact["outputs"]) == ["output", "stateN"]


def test_grouped_linear_layers_written_as_einsum(env, tmp_path):
    """DeepFilterNet's encoder: its grouped linear layers are Einsum 'btgi,gih->btgh' (MXNet's legacy API
    has none), written as one batched matrix product between transposes and reshapes; with its GRU."""
    result, report = convert_zoo(env, "deepfilternet-enc", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.999999


def test_a_constant_several_nodes_share_is_one_parameter(env, tmp_path):
    """basic-pitch's ONNX (tf2onnx's const_fold_opt__ constants, each read by several nodes): one name is one
    parameter. Two variables of one name made MXNet's MKLDNN executor refuse to bind ("Input argument
    NDArray cannot be un-allocated"); now it runs within the fp32 gate, Equal and Where included."""
    result, report = convert_zoo(env, "basic-pitch-onnx", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.99999


def test_outputs_are_matched_by_name_not_by_position(env, tmp_path):
    """basic-pitch's SavedModel: its signature lists contour, note, onset; the ONNX graph tf2onnx makes of it
    has them in another order, and note and onset have one shape. The MXNet outputs once followed the
    manifest's order, so note was compared with onset and missed the gate (cosine 0.91); each is now matched
    by its ONNX name, and every output is within the fp32 gate."""
    result, report = convert_zoo(env, "basic-pitch-savedmodel", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    outputs = artifact["parity"]["outputs"]
    assert set(outputs) == {"contour", "note", "onset"}
    assert all(o["passed"] and o["cosine"] > 0.99999 for o in outputs.values())


def test_an_op_the_emitter_cannot_convert_is_named_and_nothing_is_published(env, tmp_path):
    """A RoiAlign (tests/helpers/make_onnx_refused.py), which the MXNet emitter has no conversion for:
    refused with the op and its node; the ONNX target is still published."""
    models = tmp_path / "models"
    in_runtime(env, "tf", "tests/helpers/make_onnx_refused.py", str(models))
    result = run_cli(
        env, "convert", str(models / "roialign_adaptive.onnx"), "--to", "onnx,mxnet", "--out", str(tmp_path / "out")
    )
    assert result.returncode == 1
    onnx, mxnet = newest_report(tmp_path / "out")["artifacts"]
    assert onnx["published"] and not mxnet["published"]
    assert "roialign_adaptive.onnx: the MXNet emitter has no conversion for RoiAlign (node 'pool')" in mxnet["reason"]


def test_movenets_keypoints_by_argmax_and_gathernd(env, tmp_path):
    """MoveNet (an npm TFJS graph model): its keypoints are the ArgMax of a heatmap (MXNet's argmax, made
    int64 as ONNX's), divided into rows and columns in integers, and read back by GatherND; within the fp32
    gate."""
    result, report = convert_zoo(env, "human-movenet-lightning", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["passed"]


def test_a_keras_gru_that_tf2onnx_writes_as_a_loop(env, tmp_path):
    """A Keras GRU tf2onnx could not rewrite: a Loop over 200 time steps (TensorFlow's while_loop), its trip
    count and conditions known when the graph is built. The loop-unroll pass copies its body once per step;
    MXNet's symbol (no control flow) then runs it within the fp32 gate."""
    result, report = convert_zoo(env, "ao-gru-keras", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["legalized"]["loop-unroll"] == 1


def test_a_computed_clip_bound_is_max_and_min(env, tmp_path):
    """openWakeWord's melspectrogram clips twice at a floor the graph computes (the max minus 80 dB, a scalar):
    MXNet's clip takes two numbers, so the clip-bounds pass writes Max and Min, the scalar held as MXNet's
    (1,); within the fp32 gate."""
    result, report = convert_zoo(env, "openwakeword-melspectrogram", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["legalized"] == {"clip-bounds": 2}


def test_a_transposed_convolution_with_output_padding(env, tmp_path):
    """DeepFilterNet's ERB decoder: ConvTranspose with asymmetric pads and output_padding, written as MXNet's
    Deconvolution of the whole output (with `adj` rows) and a crop; within the fp32 gate."""
    result, report = convert_zoo(env, "deepfilternet-erb-dec", tmp_path / "out", "--to", "mxnet")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.99999
