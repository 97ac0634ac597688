"""report.json's contract (flows/report_schema.py): docs/report.schema.json is made from the models, a report
that breaks the contract is refused, and the models' fixed sets of words are the writer's. (Every end-to-end
test checks its real reports against the contract too: tests/conftest.py's read_report.)"""

from __future__ import annotations

import ast
import copy
import subprocess
import sys
import typing

import pytest
from pydantic import ValidationError

from flows.report_schema import SCHEMA_FILE, SCHEMA_VERSION, Attempt, Report, TaskAgreement
from tests.conftest import REPO

SHA = "0" * 64
OUTPUT = {
    "max_abs_err": 2e-06,
    "max_rel_err": 0.0003,
    "cosine": 1.0,
    "passed": True,
    "gate": "max_abs_err <= 0.0001",
    "noise_floor": 1e-07,
}
REPORT = {
    "schema_version": SCHEMA_VERSION,
    "status": "passed",
    "run_id": "20260101T000000Z-abcd1234-ef0123",
    "created_at": "2026-01-01T00:00:00+00:00",
    "model": "face",
    "source": {
        "format": "onnx",
        "name": "face",
        "sha256": SHA,
        "files": {"model": {"name": "face.onnx", "sha256": SHA}},
    },
    "artifacts": [
        {
            "target": "onnx",
            "precision": "fp32",
            "path": "face.onnx",
            "published": True,
            "route": "onnx",
            "attempts": [{"route": "onnx", "outcome": "passed", "reason": ""}],
            "sha256": SHA,
            "bytes": 1234,
            "inputs": [{"name": "data", "shape": [1, 3, 8, 8], "dtype": "float32", "layout": "NCHW", "batch_axis": 0}],
            "outputs": [{"name": "fc1", "shape": [1, 10], "dtype": "float32", "layout": None}],
            "parity": {
                "max_abs_err": 2e-06,
                "max_rel_err": 0.0003,
                "cosine": 1.0,
                "passed": True,
                "worst_output": "fc1",
                "noise_floor": 1e-07,
                "gate": "max_abs_err <= 0.0001",
                "outputs": {"fc1": OUTPUT},
            },
            "latency": {"runs": 20, "median_ms": 1.5, "p90_ms": 2.0, "threads": 2, "peak_rss_mb": 180.5},
        }
    ],
    "failed_targets": [],
    "surgery": {},
    "stages": [
        {
            "stage": "load",
            "impl": "onnx",
            "label": "",
            "seconds": 1.2,
            "cached": False,
            "started_at": 1.7e9,
            "cores": [0, 1],
        },
        {"stage": "validate", "impl": "onnx", "label": "", "seconds": 0.0, "cached": True},
    ],
    "failed_stages": [],
    "trust": {"custom_code_trusted": False},
    "samples": {"samples": "synthetic: data: normal N(0, 1)", "synthetic": True},
}


def test_the_committed_json_schema_is_the_models():
    printed = subprocess.run(
        [sys.executable, "-m", "flows.report_schema"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert printed == SCHEMA_FILE.read_text(), (
        "docs/report.schema.json is stale: run .venv/bin/python -m flows.report_schema --write"
    )


def _changed(change) -> dict:
    report = copy.deepcopy(REPORT)
    change(report)
    return report


MISSED = {
    "target": "tflite",
    "precision": "fp32",
    "path": None,
    "published": False,
    "route": "onnx2tf",
    "reason": "failed its gate",
    "divergence": {
        "layer": "conv_3",
        "op": "Conv",
        "output": "conv_3_out",
        "error_before": 2e-07,
        "error_after": None,
        "artifact_tensor": None,
        "compared": 40,
        "reproduced": 12,
        "threshold": 1e-05,
        "method": "every tensor",
        "curve": [["conv_1", 1e-07], ["conv_3", 0.41]],
    },
    "attempts": [
        {
            "route": "onnx2tf",
            "outcome": "missed its gate",
            "reason": "face failed its gate",
            "divergence": {"layer": None, "why": "this route has no ONNX graph"},
        },
        {"route": "tf2onnx", "outcome": "stage failed", "stage": "emit", "reason": "[emit] boom"},
    ],
    "sha256": SHA,
    "bytes": 99,
    "inputs": [],
    "outputs": [],
    "parity": {
        "max_abs_err": 1e300,
        "max_rel_err": 1e300,
        "cosine": 0.0,
        "passed": False,
        "worst_output": "fc1",
        "gate": "shape [1, 5], the source's is [1, 10]",
        "validator": "tflite",
        "outputs": {
            "fc1": {
                "max_abs_err": 1e300,
                "max_rel_err": 1e300,
                "cosine": 0.0,
                "passed": False,
                "gate": "shape [1, 5], the source's is [1, 10]",
                "shape_mismatch": [[1, 10], [1, 5]],
            }
        },
        "task": {"task": "classify", "outputs": {"fc1": {"why": "shapes differ ([1, 10], [1, 5])"}}},
    },
    "latency": {"skipped": "Core ML runs only on Apple's systems", "peak_rss_mb": None},
}


@pytest.mark.parametrize(
    "report",
    [
        REPORT,
        _changed(lambda r: r["artifacts"].append(MISSED)),
        _changed(
            lambda r: r.update(
                status="failed",
                error="[load] boom",
                artifacts=[],
                samples={"samples": "from s.npz", "synthetic": False, "calibration": "from c.npz"},
                failed_stages=[{"stage": "load", "impl": "onnx", "label": "", "cached": True, "reason": "boom"}],
            )
        ),
        _changed(
            lambda r: r.update(
                surgery={"output_layer": "fc1_output", "fix_gamma": ["bn0"], "renamed": [{"from": "a", "to": "b"}]},
                preprocess={"input": "data", "mean": 127.5, "scale": 0.0078125, "removed": ["_minus0", "_mul0"]},
                trust={"custom_code_trusted": True, "let_through": ["ReadFile (node 'x')"]},
            )
        ),
        _changed(
            lambda r: r["source"].update(
                read={"signature": "serving_default", "tags": ["serve"]}, beside={"weights.bin": {"sha256": SHA}}
            )
        ),
    ],
    ids=["passed", "an artifact that missed its gate", "a run that failed", "surgery", "a SavedModel"],
)
def test_a_report_that_keeps_the_contract_is_taken(report):
    Report.model_validate(report)


@pytest.mark.parametrize(
    "report, said",
    [
        (_changed(lambda r: r["artifacts"][0].update(size_mb=1.2)), "artifacts.0.size_mb"),
        (_changed(lambda r: r["artifacts"][0].update(bytes="1234")), "artifacts.0.bytes"),
        (
            _changed(lambda r: r["artifacts"][0]["parity"]["outputs"]["fc1"].update(passed="yes")),
            "artifacts.0.parity.outputs.fc1.passed",
        ),
        (
            _changed(lambda r: r["artifacts"][0]["attempts"][0].update(outcome="worked")),
            "artifacts.0.attempts.0.outcome",
        ),
        (
            _changed(
                lambda r: r["artifacts"][0]["parity"].update(
                    task={
                        "task": "classify",
                        "outputs": {"fc1": {"mask_iou_min": 0.9, "mask_iou_mean": 0.95, "samples": 2}},
                    }
                )
            ),
            "artifacts.0.parity.task",
        ),
        (_changed(lambda r: r.update(status="ok")), "status"),
        (_changed(lambda r: r.pop("schema_version")), "schema_version"),
    ],
)
def test_a_report_that_breaks_the_contract_is_refused(report, said):
    with pytest.raises(ValidationError) as caught:
        Report.model_validate(report)
    assert said in [".".join(str(part) for part in error["loc"]) for error in caught.value.errors()]


def _constants(path: str) -> dict:
    """The module-level assignments of literals in a source file, read without importing it."""
    found = {}
    for node in ast.parse((REPO / path).read_text()).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                if len(names) == len(values):
                    found.update({n.id: v for n, v in zip(names, values, strict=True) if isinstance(n, ast.Name)})
    return found


def test_the_fixed_words_are_the_writers():
    """An attempt's outcomes (flows/routes.py) and the tasks (stages/validate/task.py), read from their sources:
    flows/routes.py imports Prefect, which this test does without."""
    routes = _constants("flows/routes.py")
    outcomes = {ast.literal_eval(routes[name]) for name in ("PASSED", "FAILED", "MISSED", "SKIPPED", "NOT_TRIED")}
    assert set(typing.get_args(Attempt.model_fields["outcome"].annotation)) == outcomes
    measures = _constants("stages/validate/task.py")["MEASURES"]
    assert set(typing.get_args(TaskAgreement.model_fields["task"].annotation)) == {
        ast.literal_eval(key) for key in measures.keys
    }
