"""ONNX legalization passes (stages/onnx/legalize), each held to ONNX Runtime on the graph before it, in
the tf runtime: GELU in each form exporters write (and the forms it must leave alone), ReduceL2 with its
axes as an attribute and as an input, a strided Slice, a 1-d Conv; and the Resize decisions the emitters share.
The passes on real models: tests/test_zoo.py (MiniLM to TFLite), tests/test_ncnn.py (YOLOX's Focus)."""

from __future__ import annotations

from tests.conftest import run_cli


def test_every_pass_is_exact_on_every_form_it_matches(env):
    result = run_cli(env, "runtime", "exec", "tf", "--", "python", "tests/helpers/check_legalize.py")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len([line for line in lines if line.startswith("ok")]) == 52, result.stdout


def test_resize_is_decided_by_onnxs_own_formulas(env):
    """stages/onnx/resize.py, which lets the MXNet and Caffe emitters write a nearest Resize as integer
    upsampling, against ONNX's reference Resize in every coordinate transformation and nearest mode; and
    the linear ones it takes for MXNet's BilinearResize2D, run in MXNet against the reference, and for
    Caffe's Deconvolution of the edge-padded input and its strided Convolution down (align_corners refused)."""
    result = run_cli(env, "runtime", "exec", "mxnet", "--", "python", "tests/helpers/check_resize.py")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert (
        result.stdout.startswith("ok: 54 of 100")
        and "; 14 of 20 linear ones taken" in result.stdout
        and "; 12 of 16 taken as an edge-padded transposed convolution" in result.stdout
        and "; 6 of 8 down by a strided convolution" in result.stdout
    ), result.stdout
