"""The rules that decide how samples are read, fed and matched (numpy only: they run in every runtime).

The end-to-end tests convert real models with these rules; here each rule's edge is pinned down:
batch axes, unbatched inputs, one-array files, layouts of every rank, and refusing to guess."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flows.config import parse_bind, parse_input_range, parse_input_shape
from stages import feeding, layout, pictures
from stages import samples as samples_lib
from stages.errors import StageError
from stages.match import match
from stages.onnx.names import safe

HERE = Path("model.onnx")


def spec(name, dims, dtype="float32", family="channels_first", override=None):
    return samples_lib.input_spec(name, dims, override, dtype, family, "m.onnx")


def test_the_batch_axis_is_the_dynamic_one_or_none_for_a_static_shape():
    assert spec("x", [None, 3, 8, 8])["batch_axis"] == 0
    state = spec("state", [2, None, 128])
    assert state["batch_axis"] == 1 and state["shape"] == [2, 1, 128] and state["layout"] is None
    assert spec("x", [3, 4, 5])["batch_axis"] is None and spec("x", [1, 3, 8, 8])["batch_axis"] == 0
    assert spec("sr", [], "int64")["batch_axis"] is None and spec("sr", [], "int64")["layout"] is None
    assert spec("signal", [None, 3, 32])["layout"] == "NCW" and spec("v", [None, 2, 3, 4, 5])["layout"] == "NCDHW"
    with pytest.raises(StageError, match="pass --input-shape x:1,3,1,1"):
        spec("x", [None, 3, None, None])


def test_samples_files_are_read_as_users_write_them():
    inputs = [spec("state", [2, None, 8])]
    checked = samples_lib.check_inputs({"anything": np.zeros((2, 5, 8))}, inputs, HERE, "samples file")
    assert checked["state"].shape == (2, 5, 8) and checked["state"].dtype == np.float32  # one input: any key
    whole = [spec("x", [3, 4, 5])]
    assert samples_lib.check_inputs({"x": np.ones((3, 4, 5))}, whole, HERE, "s")["x"].shape == (1, 3, 4, 5)
    assert samples_lib.check_inputs({"x": np.ones((2, 3, 4, 5))}, whole, HERE, "s")["x"].shape == (2, 3, 4, 5)
    with pytest.raises(StageError, match=r"the model needs \(3, 4, 5\) or \(N, 3, 4, 5\)"):
        samples_lib.check_inputs({"x": np.ones((1, 4, 5))}, whole, HERE, "s")
    ids = [spec("ids", [None, 4], "int64")]
    assert samples_lib.check_inputs({"ids": np.ones((2, 4))}, ids, HERE, "s")["ids"].dtype == np.int64
    with pytest.raises(StageError, match="holds float64 values, the model takes int64"):
        samples_lib.check_inputs({"ids": np.full((2, 4), 0.5)}, ids, HERE, "s")


def test_runs_feed_each_sample_along_its_batch_axis():
    inputs = [spec("x", [None, 4]), spec("state", [2, None, 3])]
    feeds = {"x": np.arange(12.0).reshape(3, 4), "state": np.arange(18.0).reshape(2, 3, 3)}
    runs = list(feeding.runs(feeds, inputs, batched=True))  # state is not batch-first: one sample a run
    assert len(runs) == 3 and runs[1]["x"].shape == (1, 4) and runs[1]["state"].shape == (2, 1, 3)
    assert np.array_equal(runs[1]["state"][:, 0], feeds["state"][:, 1])
    only_x = list(feeding.runs({"x": feeds["x"]}, inputs[:1], batched=True))
    assert len(only_x) == 1 and only_x[0]["x"].shape == (3, 4)


def test_made_up_samples_follow_what_the_user_said():
    inputs = [spec("image", [None, 3, 16, 16]), spec("ids", [None, 5], "int64"), spec("audio", [None, 100])]
    described = {
        "input_ranges": {"ids": [0, 9], "audio": [-1, 1]},
        "normalize": {"mean": [127.5], "std": [127.5], "channel_order": "rgb"},
    }
    arrays, said = samples_lib.synthetic(inputs, described)
    assert arrays["image"].shape == (8, 3, 16, 16) and -1.0 <= arrays["image"].min() and arrays["image"].max() <= 1.0
    assert arrays["ids"].dtype == np.int64 and arrays["ids"].min() >= 0 and arrays["ids"].max() <= 9
    assert -1 <= arrays["audio"].min() and arrays["audio"].max() <= 1
    assert said["image"].startswith("smooth synthetic pictures") and said["ids"] == "random integers in [0, 9]"
    with pytest.raises(StageError, match="--input-range ids:LO,HI"):
        samples_lib.synthetic(inputs[1:2], {})


def test_pictures_are_resized_and_laid_out_as_the_input_takes_them():
    picture = np.zeros((10, 20, 3), np.float32)
    picture[..., 0] = 255.0  # pure red
    assert pictures.resize(picture, 5, 7).shape == (5, 7, 3) and np.allclose(
        pictures.resize(picture, 5, 7)[..., 0], 255
    )
    nchw = spec("x", [None, 3, 4, 6])
    made, said = pictures.inputs(
        {"picture_0000": picture.astype(np.uint8)},
        [nchw],
        {"normalize": {"channel_order": "bgr", "mean": [0], "std": [255]}},
        "dir",
    )
    assert made["x"].shape == (1, 3, 4, 6) and np.allclose(made["x"][0, 2], 1) and np.allclose(made["x"][0, 0], 0)
    assert said == "1 pictures resized to 4x6, (pixel - [0]) / [255], BGR"

    nhwc = spec("input_1", [None, 4, 6, 3], family="channels_last")
    made, said = pictures.inputs(
        {"picture_0000": picture.astype(np.uint8)}, [nhwc], {"input_ranges": {"input_1": [0, 1]}}, "dir"
    )
    assert np.allclose(made["input_1"][0, ..., 0], 1) and np.allclose(made["input_1"][0, ..., 1:], 0)
    assert said == "1 pictures resized to 4x6, scaled to [0, 1]"  # as the synthetic ones are, not 0-255


def test_layouts_of_every_rank():
    assert layout.permutation("NCW", "NWC") == (0, 2, 1) and layout.permutation("NCDHW", "NDHWC") == (0, 2, 3, 4, 1)
    assert layout.permuted_shape([1, 3, 32], "NCW", "NWC") == [1, 32, 3]
    x = np.arange(6.0).reshape(1, 3, 2)
    assert np.array_equal(layout.relayout(layout.relayout(x, "NCW", "NWC"), "NWC", "NCW"), x)


def test_outputs_are_matched_by_name_and_never_guessed_among_one_shape():
    sources = [
        {"name": "note", "shape": [1, 172, 88], "layout": None, "source_name": "note"},
        {"name": "onset", "shape": [1, 172, 88], "layout": None, "source_name": "onset"},
    ]
    named = [
        {"name": "onset", "shape": [1, 172, 88], "dtype": "float32"},
        {"name": "note", "shape": [1, 172, 88], "dtype": "float32"},
    ]
    assert [m["name"] for m in match(named, sources, "output", HERE)] == ["note", "onset"]
    lost = [
        {"name": "Identity_1", "shape": [1, 172, 88], "dtype": "float32"},
        {"name": "Identity_2", "shape": [1, 172, 88], "dtype": "float32"},
    ]
    with pytest.raises(StageError, match="names were lost and several have its shape: refusing to guess"):
        match(lost, sources, "output", HERE)
    alone = match(lost[:1], sources[:1], "output", HERE)  # one candidate of that shape: said in the manifest
    assert alone[0]["matched_by"] == "shape (the artifact lost the name)"


def test_a_layout_that_the_shape_cannot_tell_is_refused():
    cube = [{"name": "y", "shape": [1, 8, 8, 8], "layout": "NCHW", "source_name": "y"}]
    with pytest.raises(StageError, match="cannot tell whether the converter moved output 'y'"):
        match([{"name": "y", "shape": [1, 8, 8, 8], "dtype": "float32"}], cube, "output", HERE, moved="by_shape")
    # an input onnx2tf always moves: its layout is known whatever its shape
    (moved,) = match([{"name": "y", "shape": [1, 8, 8, 8], "dtype": "float32"}], cube, "input", HERE, moved="always")
    assert moved["layout"] == "NHWC"


def test_the_noise_floor_is_the_sources_own_change_under_one_ulp():
    golden = {"y": np.array([1.0, 2.0], np.float32)}
    again = {"y": np.array([1.0, 2.0 + 2.4e-7], np.float32)}
    assert samples_lib.noise_floor(golden, again)["y"] == pytest.approx(2.4e-7, rel=0.1)
    nudged = samples_lib.nudged({"x": np.array([1.0], np.float32), "ids": np.array([3])})
    assert nudged["x"][0] == np.nextafter(np.float32(1), np.float32(2)) and nudged["ids"][0] == 3


def test_names_tf_rejects_are_made_safe():
    taken = {"Softmax_0"}
    assert safe("Softmax@0", taken) == "Softmax_0_1" and safe("x:0", set()) == "x_0"
    assert safe("/conv/Relu", set()) == "t_/conv/Relu" and safe("fc7", set()) == "fc7"


def test_command_line_values():
    assert parse_input_shape("sr:") == ("sr", []) and parse_input_shape("x:0,3") == ("x", [0, 3])
    assert parse_input_range("serving_default_input_2:0:-1,1") == ("serving_default_input_2:0", [-1.0, 1.0])
    assert parse_bind("sr=16000") == ("sr", 16000) and parse_bind("flag=true") == ("flag", True)
    with pytest.raises(ValueError, match="low <= high"):
        parse_input_range("x:1,0")


def test_bind_takes_the_values_of_a_1d_input():
    assert parse_bind("axes=2,3") == ("axes", [2, 3])
    assert parse_bind("scales=1,1,0.5,0.5") == ("scales", [1, 1, 0.5, 0.5])
    assert parse_bind("axes=[1]") == ("axes", [1]) and parse_bind("axes=[]") == ("axes", [])
    with pytest.raises(ValueError, match="must be a number"):
        parse_bind("axes=2,x")


def test_golden_outputs_that_are_not_finite_are_refused_on_made_up_samples_only(tmp_path):
    golden = {"y": np.array([1.0, -np.inf], np.float32)}
    with pytest.raises(StageError, match="not finite on the samples"):
        samples_lib.check_finite(golden, "m.onnx", made_up=True)
    samples_lib.check_finite(golden, "m.onnx", made_up=False)
    written = samples_lib.write_golden(tmp_path, golden)
    assert np.load(tmp_path / written["golden"])["y"][1] == -np.inf


def test_where_the_source_is_not_finite_the_target_must_be_the_same():
    from stages.validate.compare import INF, compare

    golden = np.array([[0.5, -np.inf, np.nan, 2.0]])
    assert compare(golden, golden.copy())["max_abs_err"] == 0
    assert compare(golden, np.array([[0.6, -np.inf, np.nan, 2.0]]))["max_abs_err"] == pytest.approx(0.1)
    assert compare(golden, np.array([[0.5, -np.inf, 0.0, 2.0]]))["max_abs_err"] == INF
    assert compare(golden, np.array([[0.5, np.inf, np.nan, 2.0]]))["non_finite"] is True
