"""A hostile model runs nothing: a corpus built at test time (tests/helpers/make_hostile_*.py), for every
source format, of graphs that write, read or list files, print to a file, call back into Python or the
network, of pickles, code in Keras, zip-slip members and external data that leaves its folder.

Each conversion must end with exit 1 and a one-line error naming the user's file, the op and the node (or
what escapes); no marker file may appear, no byte of the canary may reach the store or the cache, and
nothing may be published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import in_runtime, run_cli, snapshot

CANARY = b"modelferry-canary-7f3a9c1e-do-not-read"
BUILDERS = {
    "tf": "tests/helpers/make_hostile_tf.py",
    "torch": "tests/helpers/make_hostile_torch.py",
    "mxnet": "tests/helpers/make_hostile_mxnet.py",
}


@pytest.fixture(scope="module")
def corpus(env, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    markers, secrets = root / "markers", root / "secrets"
    markers.mkdir()
    secrets.mkdir()
    canary = secrets / "canary.txt"
    canary.write_bytes(CANARY + b"\n")
    models = root / "models"
    cases = []
    for runtime, script in BUILDERS.items():
        in_runtime(env, runtime, script, str(models), str(markers), str(canary))
        cases += json.loads((models / f"cases-{runtime}.json").read_text())
    assert list(markers.iterdir()) == [], "building the corpus ran a payload"
    return {"cases": cases, "markers": markers, "canary": canary, "root": root}


def _leaks(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and CANARY in p.read_bytes()]


def test_the_corpus_is_big_enough_and_covers_every_source_format(corpus):
    files = [Path(case["file"]) for case in corpus["cases"]]
    assert len(files) >= 40
    kinds = {p.suffix or "savedmodel" for p in files}
    assert {".pb", "savedmodel", ".keras", ".h5", ".tflite", ".onnx", ".pt", ".pt2", ".json"} <= kinds


def _wrong(result, case: dict, out: Path) -> list[str]:
    """What a conversion of a hostile case did that it must not: any exit but 1, an error that does not name
    the user's file and what the case expects, more than one error line, anything published."""
    source = Path(case["file"])
    err = " ".join(result.stderr.split())
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    wrong = []
    if result.returncode != 1:
        wrong.append(f"exit {result.returncode}")
    if source.name not in err:
        wrong.append("the user's file is not named")
    wrong += [f"{expected!r} not in the error" for expected in case["expect"] if expected not in err]
    if len(error_lines) != 1:
        wrong.append(f"{len(error_lines)} error lines")
    if snapshot(out):
        wrong.append(f"published {sorted(snapshot(out))}")
    return [f"{source.name} ({case['what']}): {'; '.join(wrong)}\n    {err[-600:]}"] if wrong else []


@pytest.mark.slow
def test_no_hostile_model_runs_anything(env, corpus, tmp_path):
    home = Path(env["MODELFERRY_HOME"])
    failures = []
    for case in corpus["cases"]:
        source = Path(case["file"])
        out = tmp_path / source.name.replace(".", "_")
        result = run_cli(
            env,
            "convert",
            str(source),
            "--to",
            "onnx",
            "--runtime",
            "venv",
            *case["args"],
            "--out",
            str(out),
            timeout=600,
        )
        failures += _wrong(result, case, out)
    assert not failures, "\n".join(failures)
    assert list(corpus["markers"].iterdir()) == [], "a payload ran"
    assert _leaks(tmp_path) == [] and _leaks(home / "bundles") == [], "the canary was read"


@pytest.mark.parametrize("target, converter", [("ncnn", "ncnn-own"), ("tflite", "onnx2tf-direct")])
def test_no_hostile_onnx_reaches_the_new_writers(env, corpus, tmp_path, target, converter):
    """The ONNX cases held to the routes added since the corpus was made (modelferry's own ncnn writer,
    onnx2tf 2's direct TFLite writer): refused as they are for every other target, nothing run or published."""
    home = Path(env["MODELFERRY_HOME"])
    cases = [case for case in corpus["cases"] if case["file"].endswith(".onnx")]
    assert cases
    failures = []
    for case in cases:
        out = tmp_path / Path(case["file"]).name.replace(".", "_")
        result = run_cli(
            env,
            "convert",
            case["file"],
            "--to",
            target,
            "--via",
            converter,
            "--no-fallback",
            "--runtime",
            "venv",
            *case["args"],
            "--out",
            str(out),
            timeout=600,
        )
        failures += _wrong(result, case, out)
    assert not failures, "\n".join(failures)
    assert list(corpus["markers"].iterdir()) == [], "a payload ran"
    assert _leaks(tmp_path) == [] and _leaks(home / "bundles") == [], "the canary was read"


def test_trust_custom_code_lets_a_graph_through_and_the_report_says_so(env, corpus, tmp_path):
    """The explicit way out: the model converts, and report.json records what was let through."""
    source = next(Path(c["file"]) for c in corpus["cases"] if Path(c["file"]).name == "keras_lambda.keras")
    out = tmp_path / "trusted"
    result = run_cli(
        env, "convert", str(source), "--to", "onnx", "--trust-custom-code", "--input-range", "x:-1,1", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(sorted(out.glob("*/*/report.json"))[-1].read_text())
    assert report["trust"] == {"custom_code_trusted": True, "let_through": ["evil_lambda (Lambda)"]}
    assert "Custom code trusted" in sorted(out.glob("*/*/report.html"))[-1].read_text()
    refused = run_cli(env, "convert", str(source), "--to", "onnx", "--input-range", "x:-1,1", "--out", str(out))
    assert refused.returncode == 1
    assert json.loads(sorted(out.glob("*/*/report.json"))[-1].read_text())["trust"] == {"custom_code_trusted": False}
