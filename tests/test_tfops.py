"""modelferry's own ONNX -> TF translation (stages/tfops), op by op, against the outputs ONNX's own backend
node tests ship (bench/tfops_sweep.py, in the tf runtime): the handlers added for ops onnx2tf cannot
convert compute what the ONNX spec says, on the tests' own inputs. (The whole route to a validated TFLite
file is tests/test_routes.py's and bench/conformance.py's.)"""

from __future__ import annotations

import json

from tests.conftest import REPO, in_runtime

TESTS = [
    "test_gridsample_bicubic",
    "test_gridsample_reflection_padding",
    "test_gridsample_nearest",
    "test_einsum_batch_matmul",
    "test_einsum_sum",
    "test_col2im_pads",
    "test_lppool_2d_pads",
    "test_maxunpool_export_with_output_shape",
    "test_reversesequence_batch",
    "test_qlinearconv",
    "test_convinteger_with_padding",
    "test_quantizelinear_blocked_symmetric",
    "test_convtranspose_group_2",
    "test_affine_grid_2d",
    "test_adam",
    "test_nesterov_momentum",
    "test_batchnorm_example_training_mode",
    "test_bitwise_not_3d",
    "test_mod_mixed_sign_float64",
    "test_isinf",
    "test_wrap_pad",
    "test_center_crop_pad_crop_axes_hwc_expanded",
    "test_ai_onnx_ml_array_feature_extractor",
    "test_nonmaxsuppression_center_point_box_format",
    "test_nonmaxsuppression_suppress_by_IOU_and_scores",
    "test_nonmaxsuppression_two_batches",
    "test_add_uint64",
    "test_greater_equal_uint64",
    "test_div_uint32",
    "test_roialign_aligned_true",
    "test_roialign_aligned_false",
    "test_roialign_mode_max",
    "test_gelu_default_2",
    "test_gelu_tanh_2",
]


def test_the_own_translation_reproduces_onnxs_node_tests(env, tmp_path):
    out = tmp_path / "sweep.json"
    in_runtime(env, "tf", str(REPO / "bench" / "tfops_sweep.py"), "--tests", ",".join(TESTS), "--out", str(out))
    verdicts = {r["test"]: r["verdict"] for r in json.loads(out.read_text())}
    assert verdicts == {name: "ok" for name in TESTS}
