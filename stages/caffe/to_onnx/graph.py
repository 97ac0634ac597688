"""The ONNX graph a Caffe net becomes, built layer by layer.

Caffe's blobs are its tensors' names, and in-place layers (top == bottom: ReLU, BatchNorm, Scale, Dropout)
write the same blob again. ONNX names each value once, so every write but a blob's last gets a version
name (`conv1/relu1`: the blob as the layer wrote it) and the last keeps the blob's own name: the outputs,
and every tensor a target shows, carry the net's names. Shapes are Caffe's own (net.json, as pycaffe
shaped the net for one sample); the batch axis stays free (Reshape targets copy it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from stages.errors import StageError


@dataclass
class Layer:
    """One Caffe layer as a handler sees it: `bottom` its blobs (for their shapes), `inputs` the ONNX names
    those blobs hold now."""

    name: str
    type: str
    bottom: list
    inputs: list
    top: list
    params: dict

    def param(self, field: str) -> dict:
        return self.params.get(field, {})


class Graph:
    def __init__(self, net: dict, weights, where: str):
        self.where, self.weights, self.shapes = where, weights, net["shapes"]
        self.nodes, self.initializers = [], []
        self.current = {name: name for name in net["inputs"]}
        self.left = Counter(top for layer in net["layers"] for top in layer["top"])
        self.taken = set(net["inputs"])
        self.named: set[str] = set()  # node names, a namespace of their own: a layer's node is the layer's name
        self.count = 0

    # -- names -------------------------------------------------------------------------------------
    def read(self, blob: str, layer: str) -> str:
        if blob not in self.current:
            raise StageError(f"{self.where}: layer {layer!r} reads blob {blob!r}, which no layer before it writes")
        return self.current[blob]

    def write(self, blob: str, layer: str) -> str:
        """The ONNX name of this write of `blob`: its own name on its last write."""
        self.left[blob] -= 1
        name = blob if self.left[blob] == 0 and blob not in self.taken else self.fresh(f"{blob}/{layer}")
        self.taken.add(name)
        self.current[blob] = name
        return name

    def fresh(self, hint: str, taken: set | None = None) -> str:
        taken = self.taken if taken is None else taken
        name = hint
        while name in taken:
            self.count += 1
            name = f"{hint}_{self.count}"
        taken.add(name)
        return name

    # -- contents ----------------------------------------------------------------------------------
    def shape(self, blob: str) -> list:
        return list(self.shapes[blob])

    def blob(self, layer: Layer, index: int) -> np.ndarray:
        key = f"{layer.name}#{index}"
        if key not in self.weights:
            raise StageError(
                f"{self.where}: {layer.type} layer {layer.name!r} has no weight blob {index} in the .caffemodel"
            )
        return self.weights[key]

    def blobs(self, layer: Layer) -> int:
        return sum(1 for key in self.weights if key.rsplit("#", 1)[0] == layer.name)

    def const(self, hint: str, array) -> str:
        name = self.fresh(hint)
        array = np.asarray(array)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def target_shape(self, layer: "Layer") -> str:
        """The top's shape as a Reshape's target, its batch copied from the bottom (0) where Caffe kept it."""
        top = self.shape(layer.top[0])
        if top and top[0] == self.shape(layer.bottom[0])[0]:
            top[0] = 0
        return self.ints(f"{layer.name}/shape", top)

    def ints(self, hint: str, values) -> str:
        return self.const(hint, np.asarray(values, dtype=np.int64))

    def node(self, op: str, inputs: list, outputs: list, name: str, **attrs) -> list:
        self.nodes.append(helper.make_node(op, inputs, outputs, name=self.fresh(name, self.named), **attrs))
        return outputs

    def step(self, op: str, inputs: list, layer: Layer, suffix: str, **attrs) -> str:
        """A node inside a layer that several nodes make: its output is named after the layer."""
        return self.node(op, inputs, [self.fresh(f"{layer.name}/{suffix}")], f"{layer.name}/{suffix}", **attrs)[0]

    def last(self, op: str, inputs: list, layer: Layer, top: int = 0, **attrs) -> str:
        """The node that writes the layer's top `top`."""
        out = self.write(layer.top[top], layer.name)
        self.node(op, inputs, [out], layer.name if top == 0 else f"{layer.name}/{top}", **attrs)
        return out

    def refuse(self, layer: Layer, why: str):
        raise StageError(f"{self.where}: {layer.type} layer {layer.name!r}: {why}")


def value(name: str, shape: list) -> object:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
