"""Zoo builder (caffe runtime): MTCNN's three nets as the original Caffe models, det1/det2/det3.prototxt +
.caffemodel, with facenet-pytorch's trained weights (OUT/pnet.npz … from bench/zoo/mtcnn_weights.py).

    modelferry runtime exec caffe --runtime docker --writable OUT -- python bench/zoo/build_mtcnn_caffe.py OUT

The originals (kpzhang93's MTCNN_face_detection_alignment) were trained in MATLAB, so their nets see every
image transposed (height and width swapped). facenet-pytorch transposed the weights for untransposed
images: its kernels are the originals' with their two spatial axes swapped, and before its first dense
layer it permutes to (W, H, C) order. Here both are undone: kernels transposed back, dense columns
reordered to Caffe's (C, H, W) flattening of a transposed blob. The nets keep the originals' layer and
blob names, `input_dim` fields, in-place PReLUs and ceil-mode pooling.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
import caffe  # noqa: E402
import numpy as np  # noqa: E402


def conv(name, bottom, count, kernel):
    return (
        f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{name}"\n'
        f"  convolution_param {{ num_output: {count} kernel_size: {kernel} stride: 1 }} }}"
    )


def prelu(name, blob):
    return f'layer {{ name: "{name}" type: "PReLU" bottom: "{blob}" top: "{blob}" }}'


def pool(name, bottom, kernel, stride=2):
    return (
        f'layer {{ name: "{name}" type: "Pooling" bottom: "{bottom}" top: "{name}"\n'
        f"  pooling_param {{ pool: MAX kernel_size: {kernel} stride: {stride} }} }}"
    )


def dense(name, bottom, count):
    return (
        f'layer {{ name: "{name}" type: "InnerProduct" bottom: "{bottom}" top: "{name}"\n'
        f"  inner_product_param {{ num_output: {count} }} }}"
    )


def softmax(bottom):
    return f'layer {{ name: "prob1" type: "Softmax" bottom: "{bottom}" top: "prob1" }}'


def header(name, size):
    return f'name: "{name}"\ninput: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: {size}\ninput_dim: {size}\n'


NETS = {
    # stem: (facenet's file, name, input size, layers, caffe layer -> facenet parameter prefix)
    "det1": (
        "pnet",
        "PNet",
        12,
        [
            conv("conv1", "data", 10, 3),
            prelu("PReLU1", "conv1"),
            pool("pool1", "conv1", 2),
            conv("conv2", "pool1", 16, 3),
            prelu("PReLU2", "conv2"),
            conv("conv3", "conv2", 32, 3),
            prelu("PReLU3", "conv3"),
            conv("conv4-1", "conv3", 2, 1),
            conv("conv4-2", "conv3", 4, 1),
            softmax("conv4-1"),
        ],
        {
            "conv1": "conv1",
            "PReLU1": "prelu1",
            "conv2": "conv2",
            "PReLU2": "prelu2",
            "conv3": "conv3",
            "PReLU3": "prelu3",
            "conv4-1": "conv4_1",
            "conv4-2": "conv4_2",
        },
    ),
    "det2": (
        "rnet",
        "RNet",
        24,
        [
            conv("conv1", "data", 28, 3),
            prelu("prelu1", "conv1"),
            pool("pool1", "conv1", 3),
            conv("conv2", "pool1", 48, 3),
            prelu("prelu2", "conv2"),
            pool("pool2", "conv2", 3),
            conv("conv3", "pool2", 64, 2),
            prelu("prelu3", "conv3"),
            dense("conv4", "conv3", 128),
            prelu("prelu4", "conv4"),
            dense("conv5-1", "conv4", 2),
            dense("conv5-2", "conv4", 4),
            softmax("conv5-1"),
        ],
        {
            "conv1": "conv1",
            "prelu1": "prelu1",
            "conv2": "conv2",
            "prelu2": "prelu2",
            "conv3": "conv3",
            "prelu3": "prelu3",
            "conv4": "dense4",
            "prelu4": "prelu4",
            "conv5-1": "dense5_1",
            "conv5-2": "dense5_2",
        },
    ),
    "det3": (
        "onet",
        "ONet",
        48,
        [
            conv("conv1", "data", 32, 3),
            prelu("prelu1", "conv1"),
            pool("pool1", "conv1", 3),
            conv("conv2", "pool1", 64, 3),
            prelu("prelu2", "conv2"),
            pool("pool2", "conv2", 3),
            conv("conv3", "pool2", 64, 3),
            prelu("prelu3", "conv3"),
            pool("pool3", "conv3", 2),
            conv("conv4", "pool3", 128, 2),
            prelu("prelu4", "conv4"),
            dense("conv5", "conv4", 256),
            'layer { name: "drop5" type: "Dropout" bottom: "conv5" top: "conv5" '
            "dropout_param { dropout_ratio: 0.25 } }",
            prelu("prelu5", "conv5"),
            dense("conv6-1", "conv5", 2),
            dense("conv6-2", "conv5", 4),
            dense("conv6-3", "conv5", 10),
            softmax("conv6-1"),
        ],
        {
            "conv1": "conv1",
            "prelu1": "prelu1",
            "conv2": "conv2",
            "prelu2": "prelu2",
            "conv3": "conv3",
            "prelu3": "prelu3",
            "conv4": "conv4",
            "prelu4": "prelu4",
            "conv5": "dense5",
            "prelu5": "prelu5",
            "conv6-1": "dense6_1",
            "conv6-2": "dense6_2",
            "conv6-3": "dense6_3",
        },
    ),
}


def original(weight: np.ndarray, first_dense: bool, blob_shape) -> np.ndarray:
    """A facenet-pytorch weight as the MATLAB-trained Caffe net holds it."""
    if weight.ndim == 4:  # a kernel: spatial axes swapped back
        return weight.transpose(0, 1, 3, 2)
    if first_dense:  # columns from facenet's (W, H, C) order to Caffe's (C, W, H)
        count, (channels, height, width) = weight.shape[0], blob_shape
        return weight.reshape(count, height, width, channels).transpose(0, 3, 1, 2).reshape(count, -1)
    return weight


def build(folder: Path, stem: str) -> None:
    source, name, size, layers, params = NETS[stem]
    prototxt = folder / f"{stem}.prototxt"
    prototxt.write_text(header(name, size) + "\n".join(layers) + "\n")
    net = caffe.Net(str(prototxt), caffe.TEST)
    weights = np.load(folder / f"{source}.npz")
    first_dense = True
    for layer, prefix in params.items():
        blobs = net.params[layer]
        kind = net.layers[list(net._layer_names).index(layer)].type
        bottom = net.bottom_names[layer][0]
        values = [weights[f"{prefix}.weight"]] + ([weights[f"{prefix}.bias"]] if len(blobs) > 1 else [])
        for index, (blob, value) in enumerate(zip(blobs, values)):
            value = original(
                value, kind == "InnerProduct" and first_dense and index == 0, net.blobs[bottom].data.shape[1:]
            )
            blob.data[...] = value.reshape(blob.data.shape)
        if kind == "InnerProduct":
            first_dense = False
    net.save(str(folder / f"{stem}.caffemodel"))
    print(f"{stem}.prototxt: {len(layers)} layers, {sum(b.data.size for p in net.params.values() for b in p)} weights")


if __name__ == "__main__":
    for stem in NETS:
        build(Path(sys.argv[1]), stem)
