"""Caffe's allowlist: the layer types that only compute, read off the prototxt before Caffe builds the net.

Every layer of the file is judged, whatever phase it is in. Refused, as every type not listed here: the
`Python` layer (it imports a module named in the prototxt and runs it), the data layers that read files
or databases named in the prototxt (Data, ImageData, HDF5Data, WindowData) or wait for data fed from
Python (MemoryData), HDF5Output (writes a file) and InfogainLoss (reads its matrix from a file). Types
BVLC Caffe does not know are left to the load stage, which names them before Caffe would abort on them.
"""

from __future__ import annotations

from stages.caffe import read
from stages.trust.policy import Found

COMPUTATION = frozenset(
    {
        "AbsVal",
        "Accuracy",
        "ArgMax",
        "BNLL",
        "BatchNorm",
        "BatchReindex",
        "Bias",
        "Clip",
        "Concat",
        "ContrastiveLoss",
        "Convolution",
        "Crop",
        "Deconvolution",
        "Dropout",
        "DummyData",
        "ELU",
        "Eltwise",
        "Embed",
        "EuclideanLoss",
        "Exp",
        "Filter",
        "Flatten",
        "HingeLoss",
        "Im2col",
        "InnerProduct",
        "Input",
        "LRN",
        "LSTM",
        "LSTMUnit",
        "Log",
        "MVN",
        "MultinomialLogisticLoss",
        "PReLU",
        "Parameter",
        "Pooling",
        "Power",
        "RNN",
        "ReLU",
        "Reduction",
        "Reshape",
        "SPP",
        "Scale",
        "Sigmoid",
        "SigmoidCrossEntropyLoss",
        "Silence",
        "Slice",
        "Softmax",
        "SoftmaxWithLoss",
        "Split",
        "Swish",
        "TanH",
        "Threshold",
        "Tile",
    }
)


def check(net, known: frozenset) -> list[Found]:
    """The layers (any phase) of a type Caffe knows (`known`) that is not computation: they touch files or
    run Python."""
    return [
        Found(read.type_of(layer), layer.name or f"layer {index}")
        for index, layer in enumerate(read.every_layer(net))
        if read.type_of(layer) in known and read.type_of(layer) not in COMPUTATION
    ]
