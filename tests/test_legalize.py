"""ONNX legalization passes (stages/onnx/legalize), each held to ONNX Runtime on the graph before it, in
the tf runtime: GELU in each form exporters write (and the forms it must leave alone), ReduceL2 with its
axes as an attribute and as an input. The passes on a real model: tests/test_zoo.py (MiniLM to TFLite)."""
from __future__ import annotations

from tests.conftest import run_cli


def test_every_pass_is_exact_on_every_form_it_matches(env):
    result = run_cli(env, "runtime", "exec", "tf", "--", "python", "tests/helpers/check_legalize.py")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len([line for line in lines if line.startswith("ok")]) == 14, result.stdout
