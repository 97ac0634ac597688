"""onnx2tf: ONNX -> TF SavedModel, channels-last, the preferred route to TFLite and TFJS.

ONNX -> TF: onnx2tf first (channels-last graphs, as phones run them); where it fails or misses the gate,
modelferry's own op-by-op translation (stages/tfops, preference 1), then onnx2tf without onnxsim and
strict mode, and onnx-tf (stages/onnx_tf). (onnx2tf keeping the inputs' layouts was a route too: on real
models its files crashed LiteRT or diverged at the first Conv, and it rescued none.)
"""

from stages.impl import Impl

IMPLS = (
    Impl(
        "emit",
        "onnx2tf",
        "tf",
        "stages.onnx2tf.emit",
        ("onnx",),
        "savedmodel",
        "ONNX -> TF SavedModel, channels-last (onnx2tf); TFLite and TFJS come from it",
        takes=("portable",),
    ),
    Impl(
        "emit",
        "onnx2tf-plain",
        "tf",
        "stages.onnx2tf.emit",
        ("onnx",),
        "savedmodel",
        "ONNX -> TF SavedModel with onnx2tf, without onnxsim and strict mode",
        preference=2,
        settings=(("not_use_onnxsim", True), ("disable_strict_mode", True)),
        takes=("portable",),
    ),
)
