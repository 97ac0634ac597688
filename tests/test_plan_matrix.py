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


def test_an_onnx_sources_golden_outputs_are_a_step_beside_the_routes_that_every_validation_reads():
    made = plan(ConvertRequest(source=Path("m.onnx"), targets=["onnx", "tflite"], quantize=["fp16"]), "onnx-file")
    assert made.reference is not None and made.reference.name == "reference/onnx"
    assert made.reference.inputs == ("load",)
    validations = [step for step in made.every_step if step.stage == "validate"]
    assert validations and all(step.inputs[-1] == "reference" for step in validations)
    assert catalog.get("reference", "onnx").idle


def test_sources_whose_load_makes_the_golden_outputs_have_no_reference_step():
    for source in ("keras", "mxnet", "torchscript"):
        made = plan(ConvertRequest(source=Path("model"), targets=["tflite"]), catalog.SOURCES[source])
        assert made.reference is None
        assert all(len(step.inputs) == 1 for step in made.every_step if step.stage == "validate")


def test_the_steps_begun_ahead_of_the_flow_are_those_it_surely_runs_next():
    from flows.early import ahead

    def names(source: str, targets: list[str], **options) -> list[str]:
        request = ConvertRequest(source=Path("model"), targets=targets, **options)
        return [step.name for step in ahead(plan(request, catalog.SOURCES[source]))]

    assert names("onnx", ["tflite"]) == ["reference/onnx", "emit/onnx2tf-direct"]
    assert names("onnx", ["onnx", "tflite"]) == ["reference/onnx", "emit/onnx2tf-direct"]  # ONNX is the source
    assert names("onnx", ["tflite", "openvino"]) == ["reference/onnx"]  # two converters: the flow shares the cores
    assert names("mxnet", ["tflite"]) == ["surgery/mxnet", "export/mxnet"]


def test_a_stage_begun_ahead_takes_the_share_of_the_one_branch_running():
    from flows.budget import Allotment, CpuBudget

    budget = CpuBudget([0, 1])
    with budget.demand(1), budget.demand(1):  # the flow's trunk waits for the stage begun ahead of it
        with budget.take(Allotment()) as counted:
            assert counted == (0,)
        with budget.take(Allotment(), demand=1) as alone:
            assert alone == (0, 1)
        with budget.take(Allotment(jobs=2), demand=1) as given:  # the user's --jobs holds
            assert given == (0,)


def test_a_failed_reference_stage_fails_the_run_and_tries_no_other_route(tmp_path):
    """The golden outputs could not be made: no route of any artifact can be validated, so the branch raises
    that failure (the run's, as a load failure is) rather than converting by every fallback route."""
    from flows.errors import StageFailed
    from flows.routes import Steps, make
    from flows.runtimes import RuntimeSpec
    from flows.stage_run import StageOutcome

    made = plan(ConvertRequest(source=Path("m.onnx"), targets=["tflite"]), "onnx-file")
    artifact = made.artifacts[0]
    assert len(artifact.routes) > 1  # fallbacks there would be
    steps = Steps(tmp_path, RuntimeSpec(), 60.0, made.every_step)
    first = artifact.routes[0]
    for step in (*made.trunk, *first.steps):
        steps.done[step.id] = StageOutcome(step.stage, step.impl, tmp_path, 0.0, cached=True)
    failure = StageFailed("reference/onnx", "output 'y' is not finite on the samples", "m.onnx")
    steps.failed["reference"] = failure
    with pytest.raises(StageFailed) as raised:
        make(artifact, steps, made.trunk)
    assert raised.value is failure
    assert set(steps.done) == {step.id for step in (*made.trunk, *first.steps)}  # no fallback converted
