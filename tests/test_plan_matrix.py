"""Every source the registry reads reaches every target it offers, each step in a runtime that exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.config import ConvertRequest
from flows.plan import plan
from stages import catalog

REPO = Path(__file__).resolve().parents[1]


def steps_for(source: str, targets: list[str], **options) -> list[str]:
    request = ConvertRequest(source=Path("model"), targets=targets, **options)
    return [step.name for step in plan(request, catalog.SOURCES[source]).steps]


@pytest.mark.parametrize("source", sorted(catalog.SOURCES))
@pytest.mark.parametrize("target", sorted(catalog.TARGETS))
def test_every_source_reaches_every_target(source, target):
    request = ConvertRequest(source=Path("model"), targets=[target])
    made = plan(request, catalog.SOURCES[source])
    steps = made.steps
    assert steps[0].stage == "load" and steps[-1].name == f"validate/{target} fp32"
    assert [s.artifact for s in steps if s.artifact] == [(target, "fp32")]
    for step in made.every_step:  # a runtime pinned by a lock, or by the Debian release it is made of
        folder = REPO / "images" / step.image
        assert (folder / "requirements.lock").is_file() or (folder / "debian.txt").is_file(), step.name


def test_pytorch_to_tfjs_goes_through_onnx_and_a_savedmodel():
    assert steps_for("torchscript", ["tfjs"]) == [
        "load/torchscript",
        "export/torch",
        "emit/onnx2tf",
        "emit/tfjs",
        "validate/tfjs fp32",
    ]


def test_tf_sources_skip_onnx_for_tflite_and_tfjs():
    assert steps_for("graphdef", ["tflite", "tfjs"]) == [
        "load/graphdef",
        "emit/graphdef-savedmodel",
        "emit/savedmodel-tflite",
        "emit/tfjs",
        "validate/tflite fp32",
        "validate/tfjs fp32",
    ]
    assert steps_for("savedmodel", ["savedmodel"]) == ["load/savedmodel", "validate/savedmodel fp32"]


def test_quantize_modes_go_to_the_targets_that_offer_them():
    steps = steps_for("keras", ["tflite", "tfjs"], quantize=["fp16", "int8"], calibration=Path("c.npz"))
    assert "quantize/tflite fp16" in steps and "quantize/tflite int8" in steps
    assert "quantize/tfjs fp16" in steps and "quantize/tfjs int8" not in steps


def test_a_mode_no_requested_target_offers_is_refused():
    with pytest.raises(
        ValueError, match="--quantize int8 applies to openvino and tflite targets: add openvino or tflite to --to"
    ):
        ConvertRequest(source=Path("model"), targets=["tfjs"], quantize=["int8"], calibration=Path("c.npz"))
