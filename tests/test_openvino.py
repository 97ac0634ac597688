"""The OpenVINO target: ONNX -> IR (.xml + .bin) with openvino.convert_model, validated on CPU with the
inference precision pinned to f32, in its own runtime; on the bundled MobileFaceNet and on real models."""

from __future__ import annotations

from bench.zoo import fetch
from bench.zoo.catalog import BY_NAME
from tests.conftest import INPUT_SHAPE, convert_zoo, latest_run, newest_report, read_report, run_cli


def test_mobilefacenet_to_openvino_fp32_fp16_and_int8(env, face, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "openvino",
        "--quantize",
        "fp16,int8",
        "--calibration",
        str(face / "calib.npz"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = latest_run(out, "face")
    fp32, fp16, int8 = read_report(run)["artifacts"]
    assert int8["parity"]["passed"] and int8["parity"]["top1_agreement"] == 1.0
    assert "FakeQuantize" in (run / int8["path"] / "model.xml").read_text()  # NNCF calibrated it
    assert (fp32["precision"], fp16["precision"]) == ("fp32", "fp16")
    assert fp32["route"].endswith("export/mxnet → emit/openvino") and fp32["parity"]["max_abs_err"] < 1e-4
    assert fp16["parity"]["passed"] and fp16["parity"]["cosine"] > 0.999
    for artifact in (fp32, fp16):
        assert sorted(p.name for p in (run / artifact["path"]).iterdir()) == ["model.bin", "model.xml"]
        assert [t["name"] for t in artifact["outputs"]] == ["fc7_output"]  # the model's own names
    weights = {a["precision"]: (run / a["path"] / "model.bin").stat().st_size for a in (fp32, fp16)}
    assert weights["fp16"] < 0.6 * weights["fp32"]  # compress_to_fp16 only for the fp16 artifact


def test_a_real_model_to_openvino(env, tmp_path):
    """PaddleOCR's text-direction classifier (rapidocr's ONNX) within the fp32 gate of ONNX Runtime's outputs."""
    result, report = convert_zoo(env, "rapidocr-cls", tmp_path / "out", "--to", "openvino")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["max_abs_err"] < 1e-4


def test_a_model_openvino_cannot_convert_says_why_and_publishes_no_ir(env, tmp_path):
    """silero-vad's ONNX with its sample rate left an input: its If stays, and OpenVINO's converter refuses
    it; the one-line reason names the converter, the file, the node and its op, and no IR is published (the
    ONNX target, asked beside it, still is). With the rate bound (--bind sr=16000, the zoo's options) the
    constant-if pass takes the branch first, and the IR is published within the fp32 gate."""
    source = fetch.source(BY_NAME["silero-vad"], download=False)
    result = run_cli(
        env,
        "convert",
        str(source),
        "--input-shape",
        "input:1,576",
        "--input-range",
        "input:-1,1",
        "--input-range",
        "state:0,0",
        "--input-range",
        "sr:16000,16000",
        "--to",
        "onnx,openvino",
        "--out",
        str(tmp_path / "free"),
    )
    assert result.returncode == 1
    onnx, openvino = newest_report(tmp_path / "free")["artifacts"]
    assert onnx["published"] and not openvino["published"]
    assert "OpenVINO could not convert silero_vad.onnx: node If_0_" in openvino["reason"]
    assert "/decoder/decoder/2/Conv (Conv): The input data tensor's rank has to be known" in openvino["reason"]
    result, report = convert_zoo(env, "silero-vad", tmp_path / "bound", "--to", "openvino")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["legalized"].get("constant-if")


def test_int8_weights_run_at_fp32_parity_as_users_run_them(env, tmp_path):
    """A MiniLM whose weights are int8 with a Cast and a scale: OpenVINO's CPU plugin quantizes the
    activations that meet such weights by default, and missed the fp32 gate by 0.05. The IR carries the
    runtime option that turns that off, which compile_model reads from the file on any machine; the
    validation compiles it as a user would (only f32 precision asked), and it passes the gate."""
    result, report = convert_zoo(env, "minilm-int8-onnx", tmp_path / "out", "--to", "openvino")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["published"] and artifact["parity"]["max_abs_err"] < 1e-3
    xml = (latest_run(tmp_path / "out") / artifact["path"] / "model.xml").read_text()
    assert '<DYNAMIC_QUANTIZATION_GROUP_SIZE value="0" />' in xml
