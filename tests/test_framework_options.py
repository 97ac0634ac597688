"""A framework's own options are declared once, in its registry.py, and everything else comes from that:
the convert command's flags (in the framework's --help panel), a manifest's keys, the request's typed
fields and the configs of the steps they reach."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import typer

from flows.batch import ManifestError, load
from flows.cli import app
from flows.config import ConvertRequest
from flows.errors import ConversionError
from flows.plan import plan
from stages import catalog
from stages.impl import Impl
from stages.options import Option
from stages.sources import Source
from tests.conftest import run_cli


def _manifest(tmp_path: Path, entry: str) -> Path:
    manifest = tmp_path / "models.yaml"
    manifest.write_text(f"out: {tmp_path / 'out'}\nmodels:\n  - source: face/model-symbol.json\n{entry}")
    return manifest


def _convert_command():
    return typer.main.get_command(app).commands["convert"]


def _configs(request: ConvertRequest, source: str) -> dict[str, dict]:
    return {step.name: step.config for step in plan(request, catalog.SOURCES[source]).every_step}


def test_every_declared_option_is_a_flag_of_convert_in_its_frameworks_panel():
    params = {p.name: p for p in _convert_command().params}
    for declared in catalog.OPTIONS:
        param = params[declared.option.name]
        assert declared.option.cli_flag in param.opts
        assert param.rich_help_panel == f"Options of {declared.framework} (stages/{declared.framework})"
    assert {"epoch", "rename", "opset", "signature", "graph_outputs"} <= {d.option.name for d in catalog.OPTIONS}


def test_help_shows_each_framework_panel(env):
    result = run_cli(env, "convert", "--help")
    assert result.returncode == 0
    for framework in {d.framework for d in catalog.OPTIONS}:
        assert f"Options of {framework} (stages/{framework})" in result.stdout


def test_a_manifest_says_framework_options_by_name_and_they_reach_their_steps(tmp_path):
    (tmp_path / "face").mkdir()
    manifest = _manifest(
        tmp_path,
        "    epoch: 0\n    rename: {fc1_weight: pre_fc1_weight}\n    output_layer: fc1\n"
        "    opset: 17\n    to: [onnx, tflite]\n",
    )
    _, (entry,) = load(manifest)
    options = entry.request.options
    assert (options.epoch, options.rename, options.output_layer, options.opset) == (
        0,
        {"fc1_weight": "pre_fc1_weight"},
        "fc1",
        17,
    )
    configs = _configs(entry.request, "mxnet")
    assert configs["surgery/mxnet"] == {"rename": {"fc1_weight": "pre_fc1_weight"}, "output_layer": "fc1"}
    assert configs["export/mxnet"]["opset"] == 17
    # an option reaches only its own stages: nothing of MXNet's surgery in the load or the emitters
    assert not {"rename", "output_layer", "epoch"} & {
        k for name, c in configs.items() if name != "surgery/mxnet" for k in c
    }


def test_a_framework_option_with_a_wrong_value_names_the_flag(tmp_path):
    (tmp_path / "face").mkdir()
    with pytest.raises(ManifestError, match=r"--rename 'fc1_weight' should look like key=value"):
        load(_manifest(tmp_path, "    rename: [fc1_weight]\n"))
    with pytest.raises(ManifestError, match=r"--opset: 'seventeen' is not a whole number"):
        load(_manifest(tmp_path, "    opset: seventeen\n"))


def test_trust_reaches_every_stage_that_opens_the_model_and_no_others():
    request = ConvertRequest(source=Path("m.keras"), targets=["onnx", "tflite", "savedmodel"], trust_custom_code=True)
    configs = _configs(request, "keras")
    trusted = sorted(name for name, config in configs.items() if config.get("trust_custom_code"))
    assert {"emit/keras-savedmodel", "emit/keras-tflite", "export/keras", "load/keras"} <= set(trusted)
    assert not [name for name in trusted if name.split("/")[0] not in ("load", "export", "emit")]
    for file, source in {
        "m.onnx": "onnx",
        "m.pb": "graphdef",
        "m.pt": "torchscript",
        "m.pt2": "torch-export",
        "m.tflite": "tflite",
    }.items():
        loads = _configs(ConvertRequest(source=Path(file), targets=["onnx"], trust_custom_code=True), source)
        assert any(name.startswith("load/") and config.get("trust_custom_code") for name, config in loads.items())


def test_an_option_off_adds_nothing_to_a_steps_config():
    """Options not given do not change the cache keys of runs made before they existed."""
    configs = _configs(ConvertRequest(source=Path("m.onnx"), targets=["tflite"]), "onnx")
    assert configs["load/onnx"] == {"input_shapes": {}}


@pytest.mark.parametrize(
    "source,flags,message",
    [
        ("onnx", {"signature": "predict"}, "--signature applies to savedmodel sources; this source is 'onnx'"),
        (
            "keras",
            {"epoch": 3, "graph_outputs": ["y"]},
            "--outputs applies to graphdef and tf-checkpoint sources; --epoch applies to "
            "mxnet sources; this source is 'keras'",
        ),
        (
            "torchscript",
            {"strip_preprocess": True, "output_layer": "fc1"},
            "--strip-preprocess and --output-layer apply to mxnet sources; this source is 'torchscript'",
        ),
    ],
)
def test_a_source_option_for_another_frameworks_source_is_refused(source, flags, message):
    with pytest.raises(ConversionError, match=message):
        plan(ConvertRequest(source=Path("model"), targets=["onnx"], **flags), catalog.SOURCES[source])


def test_converter_options_apply_wherever_a_route_has_the_converter():
    """--opset is the IR's option: an ONNX source, which is not exported, takes it without complaint."""
    configs = _configs(ConvertRequest(source=Path("m.onnx"), targets=["tflite"], opset=17), "onnx")
    assert not any("opset" in config for config in configs.values())


def test_a_new_frameworks_options_are_gathered_from_its_registry():
    """What the catalog does with a registry module: its options with its sources, refusing a name taken."""
    module = SimpleNamespace(
        IMPLS=(Impl("load", "demo", "tf", "stages.demo.load", ("demo-file",), "demo", "x"),),
        SOURCES=(Source("demo", "demo-file", "Demo", ("*.demo",)),),
        OPTIONS=(Option("demo_level", "int", "how much", stages=("load",)),),
    )
    (declared,) = catalog._options(module, "stages.demo.registry", {})
    assert (declared.framework, declared.sources, declared.option.cli_flag) == ("demo", ("demo",), "--demo-level")
    with pytest.raises(ValueError, match="stages.demo.registry declares option demo_level, already declared by"):
        catalog._options(module, "stages.demo.registry", {"demo_level": "stages.other.registry"})
    with pytest.raises(ValueError, match="kind 'float' is not one of"):
        Option("x", "float", "")


def test_help_fits_a_screen_and_shows_options_first(env):
    """`modelferry --help` fits a screen; neither it nor `convert --help` lists the stage implementations
    (`support-matrix` does); convert's own options come in groups, targets first."""
    env = {**env, "COLUMNS": "120"}
    top = run_cli(env, "--help")
    assert top.returncode == 0 and len(top.stdout.splitlines()) <= 40, top.stdout
    assert "support-matrix" in top.stdout
    convert = run_cli(env, "convert", "--help")
    assert convert.returncode == 0
    for text in (top.stdout, convert.stdout):
        assert not any(impl.summary[:40] in " ".join(text.split()) for impl in catalog.IMPLS)
    panels = [line.split("─ ", 1)[1].split(" ─")[0] for line in convert.stdout.splitlines() if line.startswith("╭─ ")]
    assert panels[:4] == ["Arguments", "Options", "Targets and routes", "Inputs and samples"], panels
    params = {p.name: p for p in _convert_command().params}
    assert all(p.rich_help_panel for name, p in params.items() if name not in ("source", "help")), [
        name for name, p in params.items() if not p.rich_help_panel
    ]


def test_the_tasks_offered_are_the_tasks_measured():
    """--task's choices are what stages/validate/task.py measures, and each measure says what it should on
    outputs worked out by hand (tests/test_zoo.py measures segmentation on a real model and real pictures)."""
    import numpy as np

    from flows.config import TASKS
    from stages.validate.task import MEASURES, agreement, channels_first

    assert tuple(MEASURES) == TASKS
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    swapped = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
    classify = agreement("classify", scores, swapped, 2, labels=[1, 0])
    assert (classify["top1_agreement"], classify["top5_agreement"]) == (0.5, 1.0)
    assert (classify["source_accuracy"], classify["artifact_accuracy"]) == (1.0, 0.5)
    masks = np.zeros((1, 2, 2, 2))
    masks[0, 1, 0, :] = 1  # class 1 on the top row, class 0 below
    shifted = masks.copy()
    shifted[0, 1, 1, 0] = 2  # one more pixel of class 1
    segment = agreement("segment", masks, shifted, 1)
    assert abs(segment["mask_iou_mean"] - (2 / 3 + 1 / 2) / 2) < 1e-12  # class 1: 2 of 3, class 0: 1 of 2
    assert segment["foreground"] == 0.5
    last = channels_first(masks.transpose(0, 2, 3, 1), "NHWC")  # a TFLite/TFJS mask, channels last
    assert (
        np.array_equal(last, masks)
        and agreement("segment", last, channels_first(shifted.transpose(0, 2, 3, 1), "NHWC"), 1) == segment
    )
    empty = agreement("segment", np.zeros((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), 1)
    assert "mask_iou_mean" not in empty and empty["why"].startswith("the source's masks are all background")
    embed = agreement("embed", np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0], [0.0, 3.0]]), 2)
    assert abs(embed["cosine_min"] - 2**-0.5) < 1e-12 and embed["cosine_median"] > 0.85
    assert "why" in agreement("classify", np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), 2)
    # two boxes the source scores 0.9 and 0.5 (cx, cy, w, h, objectness, one class); the artifact moves the
    # second by half its width (IoU 1/3: not matched) and scores the first 0.8
    source = np.array([[[10, 10, 4, 4, 0.9, 1.0], [30, 30, 4, 4, 0.5, 1.0], [50, 50, 4, 4, 0.1, 1.0]]])
    moved = source.copy()
    moved[0, 0, 4], moved[0, 1, 0] = 0.8, 32
    detect = agreement("detect", source, moved, 1)
    assert detect["boxes"] == 2 and detect["boxes_matched"] == 0.5 and abs(detect["score_delta_max"] - 0.1) < 1e-9


def test_a_manifest_entry_means_what_its_command_line_means(tmp_path, monkeypatch):
    """A manifest is read by the rows the command is made of, never through the command: every key, of
    each kind, gives the request that its flags give on the command line (and the environment's endpoint
    when the entry names none)."""
    monkeypatch.setenv("MODELFERRY_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    (tmp_path / "calib.npz").write_bytes(b"")
    keys = {
        "to": ["onnx", "tflite"],
        "quantize": "fp16",
        "fallback": False,
        "via": ["onnx-tf"],
        "calibration": "calib.npz",
        "input_shape": {"data": [1, 3, 112, 112]},
        "input_range": ["data:0,1"],
        "mean": [127.5, 127.5, 127.5],
        "std": 128,
        "channel_order": "bgr",
        "bind": {"sr": 16000},
        "name": "face",
        "gate_fp32_max_abs": 0.001,
        "task": "embed",
        "profile": 0,
        "jobs": 2,
        "stage_cpus": 1,
        "stage_timeout": 60,
        "epoch": 3,
        "rename": {"fc1_weight": "w"},
        "opset": 17,
        "simplify": False,
        "graph_outputs": ["a", "b"],
    }
    argv = [
        str(tmp_path / "m.json"),
        "--to",
        "onnx,tflite",
        "--quantize",
        "fp16",
        "--no-fallback",
        "--via",
        "onnx-tf",
        "--calibration",
        str(tmp_path / "calib.npz"),
        "--input-shape",
        "data:1,3,112,112",
        "--input-range",
        "data:0,1",
        "--mean",
        "127.5,127.5,127.5",
        "--std",
        "128",
        "--channel-order",
        "bgr",
        "--bind",
        "sr=16000",
        "--name",
        "face",
        "--gate-fp32-max-abs",
        "0.001",
        "--task",
        "embed",
        "--profile",
        "0",
        "--jobs",
        "2",
        "--stage-cpus",
        "1",
        "--stage-timeout",
        "60",
        "--epoch",
        "3",
        "--rename",
        "fc1_weight=w",
        "--opset",
        "17",
        "--no-simplify",
        "--outputs",
        "a,b",
        "--out",
        str(tmp_path / "artifacts"),
    ]
    from flows.batch import entry
    from flows.options import request_from_options

    manifest = entry(0, {"source": "m.json", "out": "artifacts", **keys}, tmp_path).request
    with _convert_command().make_context("convert", argv) as ctx:
        command_line = request_from_options(ctx.params)
    assert manifest == command_line
    assert manifest.s3_endpoint_url == "http://127.0.0.1:9" and manifest.options.graph_outputs == ["a", "b"]
    # a key of no option, and a value of the wrong kind, name what is wrong
    with pytest.raises(ManifestError, match="unknown key 'verbose'"):
        entry(0, {"source": "m.json", "verbose": True}, tmp_path)
    with pytest.raises(ManifestError, match=r"--fallback: true or false, not 'no'"):
        entry(0, {"source": "m.json", "fallback": "no"}, tmp_path)
    with pytest.raises(ManifestError, match=r"--jobs: 2.5 is not a whole number"):
        entry(0, {"source": "m.json", "jobs": 2.5}, tmp_path)
