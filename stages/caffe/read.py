"""A Caffe net definition read with caffe.proto (pycaffe's own protobuf), before Caffe builds anything:
its layers in the TEST phase (V1 `layers` as well as `layer`), each with its type, blobs and the
parameters Caffe would use (defaults filled in), and its inputs with their declared shapes.

Runs in the caffe runtime (Python 3.9, Debian's protobuf 3.12)."""

from __future__ import annotations

from pathlib import Path

from stages.errors import StageError

# V1 nets (`layers { type: CONVOLUTION }`) name their type by an enum; Caffe's upgrade maps them thus.
V1_TYPES = {
    "ABSVAL": "AbsVal",
    "ACCURACY": "Accuracy",
    "ARGMAX": "ArgMax",
    "BNLL": "BNLL",
    "CONCAT": "Concat",
    "CONTRASTIVE_LOSS": "ContrastiveLoss",
    "CONVOLUTION": "Convolution",
    "DATA": "Data",
    "DECONVOLUTION": "Deconvolution",
    "DROPOUT": "Dropout",
    "DUMMY_DATA": "DummyData",
    "EUCLIDEAN_LOSS": "EuclideanLoss",
    "ELTWISE": "Eltwise",
    "EXP": "Exp",
    "FLATTEN": "Flatten",
    "HDF5_DATA": "HDF5Data",
    "HDF5_OUTPUT": "HDF5Output",
    "HINGE_LOSS": "HingeLoss",
    "IM2COL": "Im2col",
    "IMAGE_DATA": "ImageData",
    "INFOGAIN_LOSS": "InfogainLoss",
    "INNER_PRODUCT": "InnerProduct",
    "LRN": "LRN",
    "MEMORY_DATA": "MemoryData",
    "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss",
    "MVN": "MVN",
    "POOLING": "Pooling",
    "POWER": "Power",
    "RELU": "ReLU",
    "SIGMOID": "Sigmoid",
    "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss",
    "SILENCE": "Silence",
    "SOFTMAX": "Softmax",
    "SOFTMAX_LOSS": "SoftmaxWithLoss",
    "SPLIT": "Split",
    "SLICE": "Slice",
    "TANH": "TanH",
    "WINDOW_DATA": "WindowData",
    "THRESHOLD": "Threshold",
}
TEST = 1  # caffe.proto's Phase


def caffe_pb2():
    from caffe.proto import caffe_pb2 as module

    return module


def parse(path: Path, where: str):
    """The NetParameter of a prototxt; a syntax error names the line."""
    from google.protobuf import text_format

    net = caffe_pb2().NetParameter()
    try:
        text = path.read_bytes().decode()
    except UnicodeDecodeError:
        raise StageError(
            f"{where} is not text: a .prototxt is Caffe's text format (the weights are the .caffemodel)"
        ) from None
    try:
        text_format.Merge(text, net)
    except text_format.ParseError as exc:
        raise StageError(f"{where} is not a Caffe net definition Caffe can parse: {exc}") from None
    if not net.layer and not net.layers:
        raise StageError(f"{where} defines no layers: is it a solver or a train definition?")
    if any(layer.HasField("layer") for layer in net.layers):
        raise StageError(
            f"{where} is a V0 Caffe net (layers {{ layer {{ … }} }}, before 2014); upgrade it with "
            f"Caffe's upgrade_net_proto_text first"
        )
    return net


def type_of(layer) -> str:
    """A layer's type as Caffe's registry names it (V1 enums upgraded)."""
    if isinstance(layer.type, str):
        return layer.type
    return V1_TYPES.get(caffe_pb2().V1LayerParameter.LayerType.Name(layer.type), f"V1:{layer.type}")


def every_layer(net) -> list:
    return list(net.layer) or list(net.layers)


def _meets(rule) -> bool:
    """Whether Caffe's TEST state (level 0, no stages) meets a NetStateRule."""
    return (
        (not rule.HasField("phase") or rule.phase == TEST)
        and (not rule.HasField("min_level") or rule.min_level <= 0)
        and (not rule.HasField("max_level") or rule.max_level >= 0)
        and not rule.stage
    )


def in_test(layer) -> bool:
    """Caffe's own filter (net.cpp FilterNet): included by one rule, excluded by none."""
    if layer.include:
        return any(_meets(rule) for rule in layer.include)
    return not any(_meets(rule) for rule in layer.exclude)


SET = "__set__"


def _params(layer) -> dict:
    """Every `*_param` the layer sets, with Caffe's defaults filled in (enums by name), and under SET the
    fields the file sets itself (Caffe reads some only when set: BatchNorm's use_global_stats)."""
    from google.protobuf import json_format

    params = {}
    for field, value in layer.ListFields():
        if field.name.endswith("_param") and field.message_type is not None:
            params[field.name] = json_format.MessageToDict(
                value, including_default_value_fields=True, preserving_proto_field_name=True
            )
            params[field.name][SET] = sorted(f.name for f, _ in value.ListFields())
    return params


def _dims(shape) -> list[int]:
    return [int(d) for d in shape.dim]


def inputs(net, layers: list) -> dict[str, list[int]]:
    """Input blob -> declared shape: the net's `input` fields (input_shape or input_dim) and Input layers."""
    found: dict[str, list[int]] = {}
    for index, name in enumerate(net.input):
        if len(net.input_shape) > index:
            found[name] = _dims(net.input_shape[index])
        elif net.input_dim:
            found[name] = [int(d) for d in net.input_dim[4 * index : 4 * index + 4]]
        else:
            found[name] = []
    for layer in layers:
        if type_of(layer) == "Input":
            shapes = list(layer.input_param.shape)
            for index, top in enumerate(layer.top):
                shape = shapes[index] if len(shapes) > index else (shapes[0] if shapes else None)
                found[top] = _dims(shape) if shape is not None else []
    return found


def describe(layer) -> dict:
    """The layer as the export stage reads it (JSON)."""
    return {
        "name": layer.name,
        "type": type_of(layer),
        "bottom": list(layer.bottom),
        "top": list(layer.top),
        "params": _params(layer),
    }


def weights(path: Path, where: str) -> dict:
    """Layer name -> its blobs (float32 arrays, flat) from a .caffemodel, read with caffe.proto (V1 and V2);
    a file cut short or not a NetParameter is refused here, before Caffe would crash on it."""
    import numpy as np
    from google.protobuf.message import DecodeError

    net = caffe_pb2().NetParameter()
    try:
        net.ParseFromString(path.read_bytes())
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise StageError(f"{where} cannot be read: it is cut short or is not a Caffe model ({exc})") from None
    found = {}
    for layer in every_layer(net):
        if layer.blobs:
            found[layer.name] = [np.asarray(blob.double_data or blob.data, dtype=np.float32) for blob in layer.blobs]
    if not found:
        raise StageError(f"{where} holds no weights: is it a Caffe model (.caffemodel)?")
    return found
