"""Test helper (tf runtime): hostile TF, Keras, TFLite and ONNX models, built at test time.

    python make_hostile_tf.py OUT MARKERS CANARY

Each model, when its graph runs, would write a marker file under MARKERS, read CANARY, list a folder or
otherwise reach outside; OUT/cases-tf.json lists them: file, extra convert arguments, and what the error
must name (the op and the node). Nothing here runs a payload: graphs are traced or written, never run.
"""

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import tensorflow as tf

out, markers, canary = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
cases = []
SIGNATURE = [tf.TensorSpec([None, 4], tf.float32, name="x")]
RANGE = ["--input-range", "x:-1,1"]


def case(file, expect, args=(), what=""):
    cases.append({"file": str(file), "expect": list(expect), "args": list(args), "what": what})


def marker(name: str) -> str:
    return str(markers / name)


# What each hostile graph does beside computing x * 2: a side effect the output depends on (a control
# dependency is enough for TF to run it).
PAYLOADS = {
    "writefile": (lambda: tf.io.write_file(marker("tf-writefile"), "pwned"), "WriteFile"),
    "readfile": (lambda: tf.strings.length(tf.io.read_file(str(canary))), "ReadFile"),
    "matchingfiles": (lambda: tf.size(tf.io.matching_files(str(canary.parent / "*"))), "MatchingFiles"),
    "printv2": (lambda: tf.print("pwned", output_stream=f"file://{marker('tf-printv2')}"), "PrintV2"),
    "restorev2": (
        lambda: tf.raw_ops.RestoreV2(
            prefix=str(canary), tensor_names=["w"], shape_and_slices=[""], dtypes=[tf.float32]
        ),
        "RestoreV2",
    ),
    "savev2": (
        lambda: tf.raw_ops.SaveV2(
            prefix=marker("tf-savev2"), tensor_names=["w"], shape_and_slices=[""], tensors=[tf.constant([1.0])]
        ),
        "SaveV2",
    ),
    "dataset": (lambda: tf.data.TextLineDataset(str(canary)).reduce(0, lambda a, _: a + 1), "Dataset"),
    "summary": (
        lambda: tf.raw_ops.CreateSummaryFileWriter(
            writer=tf.raw_ops.SummaryWriter(shared_name="evil"),
            logdir=marker("tf-summary"),
            max_queue=1,
            flush_millis=1,
            filename_suffix=".evil",
        ),
        "CreateSummaryFileWriter",
    ),
}


def with_payload(payload):
    def serve(x):
        effect = payload()
        deps = [effect] if not isinstance(effect, (list, tuple)) else list(effect)
        with tf.control_dependencies([d for d in deps if d is not None]):
            return {"y": tf.identity(x * 2.0)}

    return serve


class Hostile(tf.Module):
    def __init__(self, payload):
        super().__init__()
        self.serve = tf.function(with_payload(payload), input_signature=SIGNATURE, autograph=False)


# SavedModels: the payload in the serving signature's function.
for key, (payload, op) in PAYLOADS.items():
    module = Hostile(payload)
    folder = out / f"savedmodel_{key}"
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    case(folder, [op], RANGE, f"SavedModel whose signature runs {op}")


# A SavedModel whose payload is in a branch of a tf.cond (a function the If node calls).
class Branch(tf.Module):
    @tf.function(input_signature=SIGNATURE, autograph=False)
    def serve(self, x):
        def effect():
            with tf.control_dependencies([tf.io.write_file(marker("tf-cond"), "pwned")]):
                return tf.identity(x)

        return {"y": tf.cond(tf.reduce_sum(x) > -1e9, effect, lambda: x)}


module = Branch()
tf.saved_model.save(module, str(out / "savedmodel_cond"), signatures={"serving_default": module.serve})
case(out / "savedmodel_cond", ["WriteFile", "function"], RANGE, "SavedModel with WriteFile inside a tf.cond branch")


# A SavedModel whose lookup table is initialized from a text file at load (a resource's initializer).
class Table(tf.Module):
    def __init__(self):
        super().__init__()
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                str(canary),
                tf.string,
                tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER,
            ),
            -1,
        )

    @tf.function(input_signature=SIGNATURE, autograph=False)
    def serve(self, x):
        return {"y": x * tf.cast(self.table.size(), tf.float32)}


canary_text = canary.read_text()
canary.write_text("placeholder\n")  # the table reads it when saved; put the secret back after
module = Table()
tf.saved_model.save(module, str(out / "savedmodel_table"), signatures={"serving_default": module.serve})
canary.write_text(canary_text)
case(
    out / "savedmodel_table",
    ["InitializeTableFromTextFileV2"],
    RANGE,
    "SavedModel whose lookup table reads a text file at load",
)


# Frozen GraphDefs: the payload wired in as a control dependency of the output.
def frozen(payload, name):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        effect = payload()
        with tf.control_dependencies(list(effect) if isinstance(effect, (list, tuple)) else [effect]):
            tf.identity(x * 2.0, name="y")
    path = out / f"{name}.pb"
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


for key in ("writefile", "readfile", "matchingfiles", "printv2", "restorev2", "savev2"):
    payload, op = PAYLOADS[key]
    path = frozen(payload, f"graphdef_{key}")
    case(path, [op], RANGE, f"frozen GraphDef whose output depends on {op}")


# A frozen GraphDef naming an op that maps a file into memory, and one calling back into Python.
graph = tf.Graph()
with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
    tf.identity(x * 2.0, name="y")
graph_def = graph.as_graph_def()
for op, attrs in (
    ("ImmutableConst", {"dtype": tf.float32, "shape": [4], "memory_region_name": str(canary)}),
    ("PyFunc", {"token": "pyfunc_0", "Tin": [], "Tout": [tf.float32]}),
):
    node = graph_def.node.add()
    node.name, node.op = f"evil_{op.lower()}", op
    for key, value in attrs.items():
        attr = node.attr[key]
        if isinstance(value, str):
            attr.s = value.encode()
        elif key == "shape":
            attr.shape.CopyFrom(tf.TensorShape(value).as_proto())
        elif isinstance(value, list):
            attr.list.type.extend([v.as_datatype_enum for v in value])
        else:
            attr.type = value.as_datatype_enum
    for consumer in graph_def.node:
        if consumer.name == "y":
            consumer.input.append(f"^{node.name}")
    (out / f"graphdef_{op.lower()}.pb").write_bytes(graph_def.SerializeToString())
    case(out / f"graphdef_{op.lower()}.pb", [op, f"evil_{op.lower()}"], RANGE, f"frozen GraphDef with {op}")
    del graph_def.node[-1]
    for consumer in graph_def.node:
        if consumer.name == "y":
            del consumer.input[-1]


# A frozen GraphDef with the payload inside a function of its library (a While loop's body).
@tf.function(input_signature=SIGNATURE, autograph=False)
def looping(x):
    def body(i, acc):
        with tf.control_dependencies([tf.io.write_file(marker("tf-while"), "pwned")]):
            return i + 1, acc * 1.0

    _, y = tf.while_loop(lambda i, acc: i < 1, body, [tf.constant(0), x])
    return tf.identity(y, name="y")


concrete = looping.get_concrete_function()
(out / "graphdef_while.pb").write_bytes(concrete.graph.as_graph_def().SerializeToString())
case(
    out / "graphdef_while.pb",
    ["WriteFile", "function"],
    ["--input-range", "x:-1,1", "--outputs", "y"],
    "frozen GraphDef with WriteFile in a While body",
)

# Keras: code in the file.
import keras  # noqa: E402

inputs = keras.Input((4,), name="x")
lambda_model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0, name="evil_lambda")(inputs))
lambda_model.save(out / "keras_lambda.keras")
case(out / "keras_lambda.keras", ["evil_lambda", "Lambda"], RANGE, "Keras model with a Lambda layer")
lambda_model.save(out / "keras_lambda.h5")
case(out / "keras_lambda.h5", ["evil_lambda", "Lambda"], RANGE, "legacy .h5 with a Lambda layer")

plain = keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))
plain.save(out / "plain.keras")
with zipfile.ZipFile(out / "plain.keras") as source:
    config = json.loads(source.read("config.json"))
    members = {n: source.read(n) for n in source.namelist()}
config["config"]["layers"][-1]["module"] = "evil.layers"
members["config.json"] = json.dumps(config).encode()
with zipfile.ZipFile(out / "keras_custom_class.keras", "w") as target:
    for member, data in members.items():
        target.writestr(member, data)
case(out / "keras_custom_class.keras", ["dense", "evil.layers"], RANGE, "Keras model naming a class from outside Keras")
with zipfile.ZipFile(out / "plain.keras") as source, zipfile.ZipFile(out / "keras_zipslip.keras", "w") as target:
    for member in source.namelist():
        target.writestr(member, source.read(member))
    target.writestr(f"../../{markers.name}/keras-zipslip", b"pwned")
case(out / "keras_zipslip.keras", ["keras-zipslip", "outside"], RANGE, "a .keras zip with a ../ member")

# TFLite: a Flex op (a TF op inside the flatbuffer) that writes a file.
flex_module = Hostile(PAYLOADS["writefile"][0])
converter = tf.lite.TFLiteConverter.from_concrete_functions([flex_module.serve.get_concrete_function()], flex_module)
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
converter.allow_custom_ops = True
(out / "tflite_flex_writefile.tflite").write_bytes(converter.convert())
case(out / "tflite_flex_writefile.tflite", ["FlexWriteFile"], RANGE, "TFLite with a Flex WriteFile op")

# ONNX: a custom domain, in the graph, a function and a subgraph; external data that leaves the folder.
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def onnx_model(nodes, initializers=(), functions=(), extra_opsets=()):
    graph = helper.make_graph(
        nodes,
        "hostile",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])],
        list(initializers),
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), *extra_opsets], functions=list(functions), ir_version=8
    )


evil = helper.make_opsetid("com.evil", 1)
model = onnx_model(
    [helper.make_node("WriteFile", ["x"], ["y"], domain="com.evil", name="evil_write", path=marker("onnx-custom"))],
    extra_opsets=[evil],
)
onnx.save(model, out / "onnx_custom_domain.onnx")
case(out / "onnx_custom_domain.onnx", ["com.evil::WriteFile", "evil_write"], RANGE, "ONNX op of a custom domain")

then_graph = helper.make_graph(
    [helper.make_node("ReadFile", ["x"], ["t"], domain="com.evil", name="evil_read")],
    "then",
    [],
    [helper.make_tensor_value_info("t", TensorProto.FLOAT, [None, 4])],
)
else_graph = helper.make_graph(
    [helper.make_node("Identity", ["x"], ["e"])],
    "else",
    [],
    [helper.make_tensor_value_info("e", TensorProto.FLOAT, [None, 4])],
)
model = onnx_model(
    [
        helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.array(True))),
        helper.make_node("If", ["c"], ["y"], then_branch=then_graph, else_branch=else_graph, name="branch"),
    ],
    extra_opsets=[evil],
)
onnx.save(model, out / "onnx_subgraph_custom.onnx")
case(out / "onnx_subgraph_custom.onnx", ["com.evil::ReadFile", "evil_read"], RANGE, "custom op inside an If branch")

function = helper.make_function(
    "local",
    "Twice",
    ["a"],
    ["b"],
    [helper.make_node("Exec", ["a"], ["b"], domain="com.evil", name="evil_exec")],
    [helper.make_opsetid("", 17), evil],
)
model = onnx_model(
    [helper.make_node("Twice", ["x"], ["y"], domain="local", name="twice")],
    functions=[function],
    extra_opsets=[helper.make_opsetid("local", 1), evil],
)
onnx.save(model, out / "onnx_function_custom.onnx")
case(out / "onnx_function_custom.onnx", ["com.evil::Exec", "evil_exec"], RANGE, "custom op inside a model function")


def external(location: str, name: str):
    weight = numpy_helper.from_array(np.ones((4,), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", location
    model = onnx_model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], initializers=[weight])
    folder = out / name
    folder.mkdir(exist_ok=True)
    onnx.save(model, folder / "model.onnx")
    return folder / "model.onnx"


case(
    external(f"../../{canary.parent.name}/{canary.name}", "onnx_external_dotdot"),
    ["outside its folder"],
    RANGE,
    "ONNX external data at ../",
)
case(
    external(str(canary), "onnx_external_absolute"),
    ["outside its folder"],
    RANGE,
    "ONNX external data at an absolute path",
)
link = external("weights.bin", "onnx_external_symlink")
(link.parent / "weights.bin").symlink_to(canary)
case(link, ["weights.bin", "outside its folder"], RANGE, "ONNX external data through a link that leaves the folder")

(out / "cases-tf.json").write_text(json.dumps(cases, indent=2))
print(f"{len(cases)} hostile models")
