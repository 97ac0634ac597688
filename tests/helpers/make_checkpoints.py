"""Test helper (tf runtime): TF1 checkpoints and a TF1 SavedModel, trained here with tf.compat.v1.

  python make_checkpoints.py OUT

ref/        a classifier (features [N, 8] -> probs [N, 4]) with ref variables (VariableV2), batch norm and a
            training flag (placeholder_with_default), trained by Adam: model.ckpt-300.{meta,index,data-*}
            and the `checkpoint` file. Its graph holds the gradients, Adam's slots and the saver.
resource/   a conv net (image [N, 12, 12, 1] -> logits [N, 3]) with resource variables (VarHandleOp), a sharded saver
signed/     ref's graph with a serving signature_def in the .meta (no --outputs needed)
hostile/    a checkpoint whose output has a control dependency on a WriteFile op
tf1_saved/  a TF1 SavedModel of ref's net tagged `train` only (read with --tags train)
expected.json  each model's outputs on OUT/features.npy and OUT/images.npy, computed here in the session
"""

import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
features = rng.standard_normal((256, 8)).astype(np.float32)
labels = (features[:, 0] > 0).astype(np.int64) + 2 * (features[:, 1] > 0)
images = rng.standard_normal((64, 12, 12, 1)).astype(np.float32)
np.save(out / "features.npy", features[:8])
np.save(out / "images.npy", images[:8])
expected = {}


def batch_norm(h, training):
    """TF1 batch norm by hand (tf.layers is Keras 3's now): batch statistics in training, the moving ones
    otherwise, chosen by tf.cond (Switch/Merge in the graph)."""
    size = h.shape[-1]
    gamma = v1.get_variable("gamma", [size], initializer=v1.ones_initializer())
    beta = v1.get_variable("beta", [size], initializer=v1.zeros_initializer())
    moving_mean = v1.get_variable("moving_mean", [size], initializer=v1.zeros_initializer(), trainable=False)
    moving_var = v1.get_variable("moving_variance", [size], initializer=v1.ones_initializer(), trainable=False)
    mean, var = tf.nn.moments(h, [0])
    for variable, value in ((moving_mean, mean), (moving_var, var)):
        v1.add_to_collection(v1.GraphKeys.UPDATE_OPS, v1.assign(variable, 0.9 * variable + 0.1 * value))
    m, v = tf.cond(training, lambda: (mean, var), lambda: (tf.identity(moving_mean), tf.identity(moving_var)))
    return tf.nn.batch_normalization(h, m, v, beta, gamma, 1e-3)


def classifier(use_resource: bool):
    x = v1.placeholder(tf.float32, [None, 8], name="features")
    training = v1.placeholder_with_default(False, [], name="is_training")
    with v1.variable_scope("net", use_resource=use_resource):
        w1 = v1.get_variable("w1", [8, 32])
        b1 = v1.get_variable("b1", [32], initializer=v1.zeros_initializer())
        h = tf.matmul(x, w1) + b1
        h = batch_norm(h, training)
        h = tf.nn.relu(h)
        w2 = v1.get_variable("w2", [32, 4])
        b2 = v1.get_variable("b2", [4], initializer=v1.zeros_initializer())
        logits = tf.add(tf.matmul(h, w2), b2, name="logits")
    probs = tf.nn.softmax(logits, name="probs")
    y = v1.placeholder(tf.int64, [None], name="labels")
    loss = v1.losses.sparse_softmax_cross_entropy(y, logits)
    with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
        train = v1.train.AdamOptimizer(0.01).minimize(loss, name="train")
    return x, y, training, probs, train


def trained(build, feed, steps=300):
    graph = tf.Graph()
    with graph.as_default():
        parts = build()
        session = v1.Session(graph=graph)
        session.run(v1.global_variables_initializer())
        for _ in range(steps):
            session.run(parts["train"], feed(parts))
    return graph, session, parts


def save(session, folder: Path, step: int, shards: int = 1):
    folder.mkdir(parents=True, exist_ok=True)
    with session.graph.as_default():
        saver = v1.train.Saver(sharded=shards > 1)
        return saver.save(session, str(folder / "model.ckpt"), global_step=step)


def build_ref(use_resource=False):
    x, y, training, probs, train = classifier(use_resource)
    return {"x": x, "y": y, "training": training, "probs": probs, "train": train}


graph, session, parts = trained(build_ref, lambda p: {p["x"]: features, p["y"]: labels, p["training"]: True})
accuracy = float(np.mean(session.run(parts["probs"], {parts["x"]: features}).argmax(1) == labels))
assert accuracy > 0.9, accuracy
save(session, out / "ref", 300)
expected["ref"] = session.run(parts["probs"], {parts["x"]: features[:8]}).tolist()

# The same graph with a serving signature in its meta graph: the outputs need no --outputs.
with graph.as_default():
    signature = v1.saved_model.signature_def_utils.predict_signature_def(
        {"features": parts["x"]}, {"probs": parts["probs"]}
    )
    (out / "signed").mkdir()
    v1.train.Saver().save(session, str(out / "signed" / "model.ckpt"), write_meta_graph=False)
    v1.train.export_meta_graph(str(out / "signed" / "model.ckpt.meta"), graph=graph)
from tensorflow.core.protobuf import meta_graph_pb2  # noqa: E402

meta = meta_graph_pb2.MetaGraphDef()
meta.ParseFromString((out / "signed" / "model.ckpt.meta").read_bytes())
meta.signature_def["serving_default"].CopyFrom(signature)
(out / "signed" / "model.ckpt.meta").write_bytes(meta.SerializeToString())

# A TF1 SavedModel tagged `train` only.
with graph.as_default():
    builder = v1.saved_model.Builder(str(out / "tf1_saved"))
    builder.add_meta_graph_and_variables(session, ["train"], signature_def_map={"serving_default": signature})
    builder.save()
session.close()


def build_conv():
    x = v1.placeholder(tf.float32, [None, 12, 12, 1], name="image")
    with v1.variable_scope("conv", use_resource=True):
        k = v1.get_variable("k", [3, 3, 1, 6])
        h = tf.nn.relu(tf.nn.conv2d(x, k, 1, "SAME"))
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        w = v1.get_variable("w", [6 * 6 * 6, 3])
        logits = tf.matmul(tf.reshape(h, [-1, 6 * 6 * 6]), w, name="logits")
    target = tf.reduce_mean(x, axis=[1, 2, 3])
    loss = tf.reduce_mean(tf.square(logits[:, 0] - target))
    return {"x": x, "logits": logits, "train": v1.train.GradientDescentOptimizer(0.005).minimize(loss)}


graph, session, parts = trained(build_conv, lambda p: {p["x"]: images}, steps=50)
with graph.as_default():
    save(session, out / "resource", 50, shards=2)
expected["resource"] = session.run(parts["logits"], {parts["x"]: images[:8]}).tolist()
assert np.all(np.isfinite(expected["resource"])), expected["resource"]
session.close()

# A checkpoint whose output waits on a WriteFile: the freeze keeps control dependencies, the allowlist refuses.
graph = tf.Graph()
with graph.as_default():
    x = v1.placeholder(tf.float32, [None, 8], name="features")
    w = v1.get_variable("w", [8, 2])
    write = tf.io.write_file(str(out / "hostile-marker"), "written", name="leak")
    with tf.control_dependencies([write]):
        tf.identity(tf.matmul(x, w), name="out")
    with v1.Session(graph=graph) as session:
        session.run(v1.global_variables_initializer())
        save(session, out / "hostile", 1)

(out / "expected.json").write_text(json.dumps(expected))
print(json.dumps({name: len(values) for name, values in expected.items()}))
