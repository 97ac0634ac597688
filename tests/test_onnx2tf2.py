"""onnx2tf 2's direct TFLite writer (flatbuffer_direct: no TensorFlow), in its own runtime on Python 3.13
(images/onnx2tf2): the preferred ONNX -> TFLite route for a float file, on real models from the zoo; and
the planner's rule that a quantized TFLite file comes from a route TF's quantizer can start from."""

from __future__ import annotations

from tests.conftest import convert_zoo, run_cli


def test_a_real_detector_to_tflite_by_onnx2tf_2s_direct_writer(env, tmp_path):
    """ddddocr's detector (a YOLOX at 416², its Focus layer's strided slices): one hop from ONNX to the
    TFLite file, channels-last input, the model's names kept, within the fp32 gate of ONNX Runtime."""
    result, report = convert_zoo(env, "ddddocr-det", tmp_path / "out", "--to", "tflite")
    assert result.returncode == 0, result.stderr[-3000:]
    (artifact,) = report["artifacts"]
    assert artifact["route"] == "load/onnx → emit/onnx2tf-direct" and artifact["published"]
    assert artifact["parity"]["max_abs_err"] < 1e-3 and artifact["parity"]["cosine"] > 0.99999
    assert [t["name"] for t in artifact["inputs"]] == ["images"]
    assert artifact["inputs"][0]["shape"] == [1, 416, 416, 3]  # moved channels-last, as onnx2tf 1 does


def test_a_text_recognizer_by_the_direct_writer_keeps_its_names(env, tmp_path):
    """PaddleOCR's text recognizer (rapidocr's ONNX), whose tensor names are no TF scope names: bare onnx2tf 2
    refuses the file as it is (bench/results/direct-tflite.md); modelferry converts a copy with safe names,
    and the TFLite file's tensors carry the model's own names, as the ONNX artifact's do."""
    result, report = convert_zoo(env, "rapidocr-rec", tmp_path / "out", "--to", "onnx,tflite")
    assert result.returncode == 0, result.stderr[-3000:]
    by = {a["target"]: a for a in report["artifacts"]}
    assert by["tflite"]["route"] == "load/onnx → emit/onnx2tf-direct" and by["tflite"]["parity"]["max_abs_err"] < 1e-4
    for kind in ("inputs", "outputs"):
        assert [t["name"] for t in by["tflite"][kind]] == [t["name"] for t in by["onnx"][kind]]


def test_a_quantized_tflite_comes_from_a_route_its_quantizer_can_start_from(env, tmp_path):
    """TF's quantizer starts from a SavedModel, which onnx2tf 2's direct file has not: where the request
    quantizes TFLite, the route through onnx2tf 1 and a SavedModel goes first, and makes every precision."""
    from bench.zoo import fetch
    from bench.zoo.catalog import BY_NAME

    source = fetch.source(BY_NAME["rapidocr-cls"], download=False)
    plain = run_cli(env, "convert", str(source), "--to", "tflite", "--plan")
    quantized = run_cli(env, "convert", str(source), "--to", "tflite", "--quantize", "fp16", "--plan")
    assert plain.returncode == quantized.returncode == 0, plain.stderr + quantized.stderr
    assert plain.stderr.splitlines()[3].split()[0] == "emit/onnx2tf-direct"
    steps = [line.split()[0] for line in quantized.stderr.splitlines()[1:6]]
    assert steps == ["load/onnx", "reference/onnx", "emit/onnx2tf", "emit/savedmodel-tflite", "quantize/tflite"], (
        quantized.stderr
    )
    assert "tflite/fp32: load/onnx → emit/onnx2tf-direct" in quantized.stderr  # still a fallback for fp32


def test_a_direct_file_that_misses_the_gate_is_not_published(env, tmp_path):
    """ddddocr's text recognizer: onnx2tf 2 writes a file whose outputs are wrong (cosine 0.73). Held to that
    route, the gate says which output and by how much, nothing is published, and the run exits 1; free,
    the next route makes the file that passes."""
    held, report = convert_zoo(
        env, "ddddocr-ocr", tmp_path / "held", "--to", "tflite", "--via", "onnx2tf-direct", "--no-fallback"
    )
    (artifact,) = report["artifacts"]
    assert held.returncode == 1 and not artifact["published"]
    assert artifact["attempts"][0]["outcome"] == "missed its gate" and "worst output" in artifact["reason"]
    assert not list((tmp_path / "held").glob("*/*/*.tflite"))
    free, report = convert_zoo(env, "ddddocr-ocr", tmp_path / "free", "--to", "tflite")
    (artifact,) = report["artifacts"]
    assert free.returncode == 0 and artifact["published"] and artifact["route"] != "load/onnx → emit/onnx2tf-direct"
