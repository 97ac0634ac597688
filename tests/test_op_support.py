"""The op-handler registry every emitter of modelferry's shares (stages/handlers.py), and
docs/op-support.md generated from it: a handler per op and per opset range, and a document that fails this
test when an emitter gains or loses an op without it being regenerated."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stages.handlers import Registry
from tests.conftest import REPO


def test_a_handler_is_found_by_op_domain_and_opset():
    table = Registry("test")
    table.handles("Softmax", until=12)(lambda: "flattening")
    table.handles("Softmax", since=13)(lambda: "one axis")
    table.handles("Gelu", since=20)(lambda: "gelu")
    table.handles("com.microsoft:Gelu")(lambda: "contrib")
    assert table.find("Softmax", "", 11)() == "flattening" and table.find("Softmax", "ai.onnx", 13)() == "one axis"
    assert table.find("Gelu", "", 17) is None and table.find("Gelu", "", 20)() == "gelu"
    assert table.find("Gelu", "com.microsoft", 1)() == "contrib"
    assert [(e["op"], e["since"], e["until"]) for e in table.listing()] == [
        ("Gelu", 20, None),
        ("Softmax", 1, 12),
        ("Softmax", 13, None),
        ("com.microsoft:Gelu", 1, None),
    ]
    with pytest.raises(ValueError, match="Softmax has a handler at versions 13-"):
        table.handles("Softmax", since=17)(lambda: "again")


def test_op_support_md_is_generated_from_the_registries(env):
    """Each registry listed in the runtime that has its framework; the document must be what they say now."""
    done = subprocess.run(
        [sys.executable, "-m", "stages.op_support", "--check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    text = (REPO / "docs" / "op-support.md").read_text()
    assert "| Softmax | ✓ | –12, 13– |" in text  # Caffe's Softmax: one handler per opset range
