"""Bare hop (tf runtime): frozen GraphDef -> TF SavedModel, by hand: import the graph into a
wrapped function, prune it to its input and output, save it behind a serving signature.

    python bench/bare/graphdef_savedmodel.py MODEL.pb --input image --output Identity
"""

from __future__ import annotations

import argparse
from pathlib import Path

import tensorflow as tf
from timing import emit, expect, scratch, timed

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
args = parser.parse_args()
data = Path(args.model).read_bytes()


def convert(out: Path) -> None:
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(data)
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    fn = wrapped.prune(
        wrapped.graph.as_graph_element(f"{args.input}:0"), wrapped.graph.as_graph_element(f"{args.output}:0")
    )
    placeholder = wrapped.graph.get_operation_by_name(args.input)
    spec = tf.TensorSpec(placeholder.outputs[0].shape, placeholder.outputs[0].dtype, name=args.input)

    @tf.function(input_signature=[spec])
    def serve(x):
        return {args.output: fn(x)}

    module = tf.Module()
    module.serve = serve
    tf.saved_model.save(module, str(out), signatures={"serving_default": serve.get_concrete_function()})


with scratch() as tmp:
    out = tmp / "saved_model"
    seconds = timed(lambda: convert(out))
    expect(out / "saved_model.pb", "tf.saved_model.save")
emit(seconds, "wrap_function + tf.saved_model.save")
