"""The Caffe target: ONNX -> prototxt + caffemodel with modelferry's own emitter, loaded, filled, saved and
validated in pycaffe (Debian bullseye's BVLC Caffe 1.0) in its container runtime; under venv it says it
needs the container runtime and the other targets go on."""

from __future__ import annotations

import re

from tests.conftest import INPUT_SHAPE, convert_zoo, in_runtime, latest_run, newest_report, read_report, run_cli

FILES = ["model.caffemodel", "model.prototxt"]


def layer_types(run, artifact: dict) -> list[str]:
    return re.findall(r'^  type: "(\w+)"', (run / artifact["path"] / "model.prototxt").read_text(), re.M)


def test_every_handler_agrees_with_onnxs_reference(docker_env, tmp_path):
    """One small ONNX graph per case (tests/helpers/onnx_op_cases.py), at least one that agrees per
    registered op: the net written in the tf runtime as emit/caffe-net writes it, packed and run in pycaffe
    in the caffe image; the forms Caffe cannot compute exactly refused in the words expected."""
    cases = tmp_path / "cases"
    helper = "tests/helpers/caffe_op_cases.py"
    written = run_cli(
        docker_env, "runtime", "exec", "tf", "--writable", str(cases), "--", "python", helper, "write", str(cases)
    )
    assert written.returncode == 0, written.stderr[-3000:]
    checked = run_cli(
        docker_env,
        "runtime",
        "exec",
        "caffe",
        "--runtime",
        "docker",
        "--writable",
        str(cases),
        "--",
        "python",
        helper,
        "check",
        str(cases),
    )
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]
    assert re.search(r"^(\d+) of \1 cases agree$", checked.stdout, re.M), checked.stdout[-500:]


def test_mobilefacenet_to_caffe(docker_env, face, tmp_path):
    """insightface's MobileFaceNet (PReLU, BatchNorm with eps 2e-5, depthwise convolutions) within the
    fp32 gate of MXNet's own outputs, by the model's output name."""
    out = tmp_path / "out"
    result = run_cli(
        docker_env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "caffe",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "face")
    (artifact,) = read_report(run)["artifacts"]
    assert artifact["route"].endswith("export/mxnet → emit/caffe-net → emit/caffe")
    assert artifact["parity"]["max_abs_err"] < 1e-4 and artifact["parity"]["top1_agreement"] == 1.0
    assert sorted(p.name for p in (run / artifact["path"]).iterdir()) == FILES
    types = layer_types(run, artifact)
    assert {"BatchNorm", "Scale", "PReLU", "Convolution", "InnerProduct"} <= set(types)
    assert "eps: 1.9999999494757503e-05" in (run / artifact["path"] / "model.prototxt").read_text()


def test_a_keras_mtcnn_pnet_to_caffe(docker_env, keras_pnet, tmp_path):
    """Keras' PNet through tf2onnx: PReLU as ReLU/Neg/Scale/Eltwise, max pooling, a softmax and a box head;
    the NHWC transposes at the graph's edges need no layer (Caffe has no Permute): its input and outputs
    are NCHW, and the report says so."""
    out = tmp_path / "out"
    result = run_cli(docker_env, "convert", str(keras_pnet), "--to", "caffe", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "pnet")
    (artifact,) = read_report(run)["artifacts"]
    assert set(artifact["parity"]["outputs"]) == {"prob", "box"} and artifact["parity"]["passed"]
    assert all(o["cosine"] > 0.99999 for o in artifact["parity"]["outputs"].values())
    assert [(t["name"], t["layout"], t["shape"]) for t in artifact["inputs"]] == [("image", "NCHW", [1, 3, 48, 48])]
    assert "Pooling" in layer_types(run, artifact)


def test_without_docker_caffe_says_it_needs_the_container_runtime_and_onnx_goes_on(env, face, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "onnx,caffe",
        "--runtime",
        "venv",
        "--out",
        str(out),
    )
    assert result.returncode == 1
    onnx, caffe = newest_report(out, "face")["artifacts"]
    assert onnx["published"] and not caffe["published"]
    assert "[emit/caffe] the caffe runtime is Debian bullseye's own python3-caffe" in caffe["reason"]
    assert "start a Docker engine" in caffe["reason"]


def test_a_real_model_to_caffe(docker_env, tmp_path):
    """PaddleOCR's text-direction classifier (rapidocr's ONNX): HardSwish and HardSigmoid composed exactly,
    squeeze-excite as Scale with a second bottom, Softmax; within the fp32 gate of ONNX Runtime's."""
    result, report = convert_zoo(docker_env, "rapidocr-cls", tmp_path / "out", "--to", "caffe")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["max_abs_err"] < 1e-4


def test_strided_slices_upsampling_and_deconvolution_are_composed_exactly(docker_env, tmp_path):
    """A decoder-shaped ONNX model built here (tests/helpers/make_onnx_upsample.py): YOLOv5's Focus (strided
    Slices), nearest Resize in PaddleOCR's and PyTorch's modes, ConvTranspose and a crop. Caffe has none of
    a strided Slice, Upsample or Interp: the strided-slice pass makes Reshape + crop, each nearest Resize is a
    Deconvolution of ones, each crop a Crop. MXNet (UpSampling) and ncnn (the same pass where pnnx left the
    slices) take it too; all within the fp32 gate, the reports saying what was rewritten."""
    in_runtime(docker_env, "tf", "tests/helpers/make_onnx_upsample.py", str(tmp_path))
    result = run_cli(
        docker_env,
        "convert",
        str(tmp_path / "upsample.onnx"),
        "--to",
        "caffe,mxnet,ncnn",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = newest_report(tmp_path / "out")
    by = {a["target"]: a for a in report["artifacts"]}
    assert all(a["published"] and a["parity"]["cosine"] > 0.999999 for a in by.values())
    assert by["caffe"]["legalized"] == {"strided-slice": 4}
    types = layer_types(latest_run(tmp_path / "out"), by["caffe"])
    assert types.count("Deconvolution") == 3 and types.count("Crop") == 9 and "Slice" not in types


def test_transposes_reductions_broadcasts_and_attention_are_composed_exactly(docker_env, tmp_path):
    """An attention block built here (tests/helpers/make_onnx_attention.py): an AveragePool that leaves its
    asymmetric padding out (zero padding, whole-window averages, a constant map of window sizes), Transposes
    inside the graph, LayerNorm written out (reductions on the last axis, broadcast Sub and Div, Pow, Sqrt),
    q @ k^T of two computed tensors, Max with a constant, a sum over a middle axis. BVLC Caffe has no Permute,
    no broadcasting and no product of two blobs: Transpose is a BatchReindex of rows, a broadcast is Tile, a
    product is Tile, Eltwise and Reduction. Within the fp32 gate of ONNX Runtime's outputs, both by name."""
    in_runtime(docker_env, "tf", "tests/helpers/make_onnx_attention.py", str(tmp_path))
    result = run_cli(
        docker_env, "convert", str(tmp_path / "attention.onnx"), "--to", "caffe", "--out", str(tmp_path / "out")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = newest_report(tmp_path / "out")["artifacts"]
    assert artifact["published"] and set(artifact["parity"]["outputs"]) == {"y", "z"}
    assert all(o["cosine"] > 0.999999 for o in artifact["parity"]["outputs"].values())
    types = layer_types(latest_run(tmp_path / "out"), artifact)
    assert {"BatchReindex", "Parameter", "Tile", "Reduction", "Power", "Scale", "Pooling"} <= set(types)


def test_a_real_transformer_block_to_caffe(docker_env, tmp_path):
    """PaddleOCR's v4 text recognizer (rapidocr's ONNX): SVTR attention between its convolutions, the
    Transposes and products of the test above on a real model; within the fp32 gate."""
    result, report = convert_zoo(docker_env, "rapidocr-rec", tmp_path / "out", "--to", "caffe")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.9999


def test_a_bidirectional_lstm_as_caffes_lstm(docker_env, tmp_path):
    """ddddocr's OCR model: a CNN, then a bidirectional ONNX LSTM (hidden 512). Caffe's LSTM layer runs one
    direction, gates in another order, from a zero state marked by its `cont` blob: one LSTM per direction,
    the backward one on the sequence reversed along time (BatchReindex) and reversed back; within the fp32
    gate."""
    result, report = convert_zoo(docker_env, "ddddocr-ocr", tmp_path / "out", "--to", "caffe")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.99999
    types = layer_types(latest_run(tmp_path / "out"), artifact)
    assert types.count("LSTM") == 2 and types.count("BatchReindex") >= 2


def test_a_gru_is_unrolled_for_caffe(docker_env, tmp_path):
    """DeepFilterNet's encoder: a GRU (hidden 256, linear_before_reset, 100 steps), which BVLC Caffe has no
    layer for, unrolled step by step (the state's weights shared by name, held once); its grouped linear
    layers are Einsums (the einsum pass). Within the fp32 gate."""
    result, report = convert_zoo(docker_env, "deepfilternet-enc", tmp_path / "out", "--to", "caffe")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["cosine"] > 0.99999
    assert artifact["legalized"].get("einsum")
    types = layer_types(latest_run(tmp_path / "out"), artifact)
    assert types.count("TanH") == 100 and "LSTM" not in types


def test_a_bert_style_sentence_encoder_to_caffe(docker_env, tmp_path):
    """paraphrase-MiniLM-L3 (ONNX opset 14, int64 ids and mask): token ids taken as float into Embed,
    LayerNormalization composed, the exact GELU's Erf by Abramowitz and Stegun (error below 1.5e-7),
    attention's products and Softmax; every output within the fp32 gate."""
    result, report = convert_zoo(docker_env, "paraphrase-minilm-onnx", tmp_path / "out", "--to", "caffe")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and all(o["passed"] for o in artifact["parity"]["outputs"].values())
    types = set(layer_types(latest_run(tmp_path / "out"), artifact))
    assert {"Embed", "Threshold", "Exp", "Reduction", "Softmax"} <= types


def test_silero_vad_with_its_state_and_reflect_padding_to_caffe(docker_env, tmp_path):
    """silero's VAD: its If on the sample rate decided by --bind (constant-if), its STFT's reflect padding
    taken by index, its LSTM fed the model's own state input through Caffe's expose_hidden, the new state
    read from the layer's last-state tops. Within the fp32 gate, the state output included."""
    result, report = convert_zoo(docker_env, "silero-vad", tmp_path / "out", "--to", "caffe")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["passed"] and len(artifact["parity"]["outputs"]) == 2
    assert "expose_hidden: true" in (latest_run(tmp_path / "out") / artifact["path"] / "model.prototxt").read_text()


def test_what_caffe_cannot_express_is_refused_naming_the_node(docker_env, tmp_path):
    """A RoiAlign (tests/helpers/make_onnx_refused.py), which Caffe has no layer or composition for: refused
    naming the op and its node; no Caffe files are published, and the ONNX target asked beside it still is."""
    models = tmp_path / "models"
    in_runtime(docker_env, "tf", "tests/helpers/make_onnx_refused.py", str(models))
    result = run_cli(
        docker_env,
        "convert",
        str(models / "roialign_adaptive.onnx"),
        "--to",
        "onnx,caffe",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 1
    onnx, caffe = newest_report(tmp_path / "out")["artifacts"]
    assert onnx["published"] and not caffe["published"]
    assert "roialign_adaptive.onnx: the Caffe emitter has no conversion for RoiAlign (node 'pool')" in caffe["reason"]


def test_tensorflows_div_no_nan_and_a_reflect_pad_of_a_sequence(docker_env, tmp_path):
    """basic-pitch's ONNX divides "no nan": a Where that picks 0 where the divisor is 0, over a quotient that
    is inf or nan there (Caffe has no select, and a blend c * a + (1 - c) * b would carry the nan through).
    The div-no-nan pass writes it without a comparison, the divisor's sign from Caffe's Threshold; its
    constant-Q transform reflect-pads a 1-d signal. Within the fp32 gate."""
    result, report = convert_zoo(docker_env, "basic-pitch-onnx", tmp_path / "out", "--to", "caffe")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["legalized"]["div-no-nan"] == 1


def test_integer_token_inputs_reach_the_float_only_targets(docker_env, tmp_path):
    """A token classifier built here (tests/helpers/make_onnx_tokens.py) takes int64 ids, as PyTorch
    exports them, and its Gather writes out axis=0; ncnn's and Caffe's blobs are float. The int-inputs pass
    takes the ids as float32 and casts them inside. Caffe's Gather from the table is an Embed; for ncnn the
    embedding pass drops the explicit axis, so pnnx writes ncnn's Embed too, and its casts are Noop; ncnn's
    Embed reads its blob's bits as int32, so that artifact takes int32 ids. Both within the fp32 gate, fed
    the source's integer samples; the reports say what each artifact takes."""
    in_runtime(docker_env, "tf", "tests/helpers/make_onnx_tokens.py", str(tmp_path))
    result = run_cli(
        docker_env,
        "convert",
        str(tmp_path / "tokens.onnx"),
        "--to",
        "caffe,ncnn",
        "--input-range",
        "ids:0,49",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    by = {a["target"]: a for a in newest_report(tmp_path / "out")["artifacts"]}
    for artifact in by.values():
        assert artifact["published"] and artifact["parity"]["cosine"] > 0.999999
    (spec,) = by["caffe"]["inputs"]
    assert (spec["dtype"], spec["source_dtype"]) == ("float32", "int64") and "casts them back" in spec["note"]
    (spec,) = by["ncnn"]["inputs"]  # ncnn's Embed reads the blob's bits as int32
    assert (spec["dtype"], spec["source_dtype"]) == ("int32", "int64") and "int32 token ids" in spec["note"]
    assert by["caffe"]["legalized"] == {"int-inputs": 1}
    assert by["ncnn"]["legalized"] == {"int-inputs": 1, "embedding": 1}
    run = latest_run(tmp_path / "out")
    assert "Embed" in layer_types(run, by["caffe"])
    assert "Embed " in (run / by["ncnn"]["path"] / "model.ncnn.param").read_text()
