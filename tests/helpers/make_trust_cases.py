"""Test helper (tf runtime): the small models of the bugs real models met (tests/test_trust_fixes.py).

ocr.onnx              x float32 [1, 1, 64, 'width'] (a text line, its width dynamic): y = ReduceMean(Conv(x))
tiny.onnx             x float32 [N, 4]: y = x @ W
nan.npz, inf.npz      samples for tiny.onnx with a NaN (sample 3) and an Inf (sample 5)
opset99.onnx          tiny.onnx stamped opset 99
zero.onnx             x float32 [1, 0, 4] (a declared zero-size dimension)
huge.onnx             x float32 [200000, 200000, 3] (its samples would take hundreds of GiB)
external/model.onnx   tiny.onnx with W in external/weights/w.bin (external data)
sequential.keras      a Keras 3 Sequential model, trained (x -> its sign pattern), outputs named by its last layer
novars/               a SavedModel copied without its variables/ folder
embed.onnx            ids int64 [N, 8] (token ids): y = mean of their embeddings
two.onnx              features [N, 4] -> left, right: two outputs of one shape [N, 3]
"""

import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)


def model(inputs, nodes, initializers=(), opset=17, output=("N", 3)):
    graph = helper.make_graph(
        nodes, "m", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(output))], list(initializers)
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


weight = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "W")
tiny = model(
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
    [helper.make_node("MatMul", ["x", "W"], ["y"])],
    [weight],
)
onnx.save(tiny, out / "tiny.onnx")
samples = rng.standard_normal((8, 4)).astype(np.float32)
with_nan, with_inf = samples.copy(), samples.copy()
with_nan[3, 1], with_inf[5, 0] = np.nan, np.inf
np.savez(out / "nan.npz", x=with_nan)
np.savez(out / "inf.npz", x=with_inf)

stamped = onnx.ModelProto()
stamped.CopyFrom(tiny)
stamped.opset_import[0].version = 99
(out / "opset99.onnx").write_bytes(stamped.SerializeToString())

conv = numpy_helper.from_array(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "K")
onnx.save(
    model(
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 64, "width"])],
        [helper.make_node("Conv", ["x", "K"], ["c"]), helper.make_node("ReduceMean", ["c"], ["y"], axes=[2])],
        [conv],
        opset=13,
        output=(1, 2, 1, "w"),
    ),
    out / "ocr.onnx",
)
onnx.save(
    model(
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 0, 4])],
        [helper.make_node("Relu", ["x"], ["y"])],
        output=(1, 0, 4),
    ),
    out / "zero.onnx",
)
onnx.save(
    model(
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [200000, 200000, 3])],
        [helper.make_node("Relu", ["x"], ["y"])],
        output=(200000, 200000, 3),
    ),
    out / "huge.onnx",
)
table = numpy_helper.from_array(rng.standard_normal((50, 6)).astype(np.float32), "table")
onnx.save(
    model(
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 8])],
        [helper.make_node("Gather", ["table", "ids"], ["e"]), helper.make_node("ReduceMean", ["e"], ["y"], axes=[1])],
        [table],
        opset=13,
        output=("N", 6),
    ),
    out / "embed.onnx",
)
left = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "W_left")
right = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "W_right")
two = helper.make_graph(
    [
        helper.make_node("MatMul", ["features", "W_left"], ["l"]),
        helper.make_node("Relu", ["l"], ["left"]),
        helper.make_node("MatMul", ["features", "W_right"], ["r"]),
        helper.make_node("Sigmoid", ["r"], ["right"]),
    ],
    "two",
    [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4])],
    [
        helper.make_tensor_value_info("left", TensorProto.FLOAT, ["N", 3]),
        helper.make_tensor_value_info("right", TensorProto.FLOAT, ["N", 3]),
    ],
    [left, right],
)
onnx.save(helper.make_model(two, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), out / "two.onnx")
(out / "external" / "weights").mkdir(parents=True, exist_ok=True)
onnx.save_model(
    tiny, str(out / "external" / "model.onnx"), save_as_external_data=True, location="weights/w.bin", size_threshold=0
)

import keras  # noqa: E402

x = rng.standard_normal((512, 4)).astype(np.float32)
labels = (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0)
keras.utils.set_random_seed(0)
sequential = keras.Sequential(
    [
        keras.Input((4,), name="features"),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(4, activation="softmax", name="quadrant"),
    ]
)
sequential.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
history = sequential.fit(x, labels, epochs=30, verbose=0)
assert history.history["accuracy"][-1] > 0.9, history.history["accuracy"][-1]
sequential.save(out / "sequential.keras")

import tensorflow as tf  # noqa: E402


class Scaled(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.ones((4, 3), np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(self, x):
        return {"y": tf.matmul(x, self.w)}


module = Scaled()
tf.saved_model.save(module, str(out / "novars"), signatures={"serving_default": module.serve})
shutil.rmtree(out / "novars" / "variables")
print("made", sorted(p.name for p in out.iterdir()))
