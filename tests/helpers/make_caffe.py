"""Test helper (caffe runtime, pycaffe): Caffe nets written as prototxt + caffemodel the way Caffe users
write them (in-place layers, V2 `layer` blocks, Input layers or `input:` fields).

  make_caffe.py layers OUT          a net of every layer family the Caffe source reads, random weights
  make_caffe.py digits DATA OUT     LeNet trained in pycaffe on DATA.npz (scikit-learn's digits)
  make_caffe.py more OUT            the rarer layers: Scale/Bias by a second bottom, Crop, Tile, Reduction …
  make_caffe.py v1 OUT              the same small net as an old V1 prototxt (`layers`, enum types)
  make_caffe.py net PROTOTXT OUT    any net definition, random weights (for refusal tests)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
import caffe  # noqa: E402
import numpy as np  # noqa: E402

LAYERS = """name: "layers"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 19 dim: 19 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 8 kernel_size: 3 pad: 2 dilation: 2 weight_filler { type: "gaussian" std: 0.3 }
                      bias_filler { type: "gaussian" std: 0.1 } } }
layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "conv1" batch_norm_param { eps: 0.001 } }
layer { name: "scale1" type: "Scale" bottom: "conv1" top: "conv1"
  scale_param { bias_term: true filler { type: "gaussian" std: 0.5 } bias_filler { type: "gaussian" std: 0.1 } } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" relu_param { negative_slope: 0.1 } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" \
pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
  convolution_param { num_output: 8 kernel_size: 3 pad: 1 group: 2 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "prelu2" type: "PReLU" bottom: "conv2" top: "conv2" \
prelu_param { filler { type: "uniform" min: 0.05 max: 0.5 } } }
layer { name: "split" type: "Split" bottom: "conv2" top: "a" top: "b" }
layer { name: "sig" type: "Sigmoid" bottom: "a" top: "sig" }
layer { name: "tanh" type: "TanH" bottom: "b" top: "tanh" }
layer { name: "sum" type: "Eltwise" bottom: "sig" bottom: "tanh" bottom: "conv2" top: "sum"
  eltwise_param { operation: SUM coeff: 0.5 coeff: -1 coeff: 2 } }
layer { name: "prod" type: "Eltwise" bottom: "sig" bottom: "tanh" top: "prod" eltwise_param { operation: PROD } }
layer { name: "max" type: "Eltwise" bottom: "sum" bottom: "prod" top: "max" eltwise_param { operation: MAX } }
layer { name: "abs" type: "AbsVal" bottom: "max" top: "abs" }
layer { name: "power" type: "Power" bottom: "abs" top: "power" power_param { power: 2 scale: 0.5 shift: 0.1 } }
layer { name: "pool2" type: "Pooling" bottom: "power" top: "pool2" \
pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "norm" type: "LRN" bottom: "pool2" top: "norm" lrn_param { local_size: 3 alpha: 0.1 beta: 0.75 } }
layer { name: "within" type: "LRN" bottom: "pool2" top: "within"
  lrn_param { local_size: 3 alpha: 0.2 beta: 0.5 norm_region: WITHIN_CHANNEL } }
layer { name: "cat" type: "Concat" bottom: "norm" bottom: "within" top: "cat" }
layer { name: "up" type: "Deconvolution" bottom: "cat" top: "up"
  convolution_param { num_output: 4 kernel_size: 4 stride: 2 pad: 1 weight_filler { type: "gaussian" std: 0.2 } } }
layer { name: "elu" type: "ELU" bottom: "up" top: "up" elu_param { alpha: 0.5 } }
layer { name: "slice" type: "Slice" bottom: "up" top: "left" top: "right" slice_param { axis: 1 slice_point: 1 } }
layer { name: "drop" type: "Dropout" bottom: "right" top: "right" dropout_param { dropout_ratio: 0.3 } }
layer { name: "flat" type: "Flatten" bottom: "right" top: "flat" }
layer { name: "fc" type: "InnerProduct" bottom: "flat" top: "fc"
  inner_product_param { num_output: 10 weight_filler { type: "gaussian" std: 0.05 } \
bias_filler { type: "gaussian" std: 0.1 } } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
layer { name: "shaped" type: "Reshape" bottom: "left" top: "shaped" reshape_param { shape { dim: 0 dim: -1 dim: 2 } } }
"""

MORE = """name: "more"
input: "data"
input_shape { dim: 1 dim: 4 dim: 10 dim: 10 }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "gate" type: "Sigmoid" bottom: "conv" top: "gate" }
layer { name: "pooled" type: "Pooling" bottom: "gate" top: "pooled" pooling_param { pool: AVE global_pooling: true } }
layer { name: "flatgate" type: "Flatten" bottom: "pooled" top: "flatgate" }
layer { name: "excite" type: "Scale" bottom: "conv" bottom: "flatgate" top: "excite"
  scale_param { axis: 0 bias_term: true bias_filler { type: "gaussian" std: 0.2 } } }
layer { name: "bias" type: "Bias" bottom: "excite" top: "excite" bias_param { filler { type: "gaussian" std: 0.3 } } }
layer { name: "swish" type: "Swish" bottom: "excite" top: "swish" swish_param { beta: 1.5 } }
layer { name: "clip" type: "Clip" bottom: "swish" top: "clip" clip_param { min: -0.5 max: 1.5 } }
layer { name: "bnll" type: "BNLL" bottom: "clip" top: "bnll" }
layer { name: "exp" type: "Exp" bottom: "bnll" top: "exp" exp_param { base: 2 scale: 0.5 shift: -0.25 } }
layer { name: "log" type: "Log" bottom: "exp" top: "log" log_param { base: 10 scale: 2 shift: 1 } }
layer { name: "mvn" type: "MVN" bottom: "log" top: "mvn" }
layer { name: "crop" type: "Crop" bottom: "mvn" bottom: "data" top: "crop" crop_param { axis: 2 offset: 0 } }
layer { name: "small" type: "Pooling" bottom: "crop" top: "small" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "cropped" type: "Crop" bottom: "crop" bottom: "small" top: "cropped" \
crop_param { axis: 2 offset: 1 offset: 2 } }
layer { name: "tile" type: "Tile" bottom: "cropped" top: "tile" tile_param { axis: 1 tiles: 2 } }
layer { name: "sum" type: "Reduction" bottom: "tile" top: "sum" \
reduction_param { operation: SUMSQ axis: 2 coeff: 0.5 } }
layer { name: "mean" type: "Reduction" bottom: "tile" top: "mean" reduction_param { operation: MEAN axis: 1 } }
layer { name: "argmax" type: "ArgMax" bottom: "mvn" top: "argmax" argmax_param { axis: 1 } }
layer { name: "step" type: "Threshold" bottom: "mvn" top: "step" threshold_param { threshold: 0.2 } }
layer { name: "silence" type: "Silence" bottom: "gate" }
"""

V1 = """name: "old"
input: "data"
input_dim: 1
input_dim: 3
input_dim: 12
input_dim: 12
layers { name: "conv" type: CONVOLUTION bottom: "data" top: "conv"
  convolution_param { num_output: 6 kernel_size: 3 weight_filler { type: "gaussian" std: 0.3 } } }
layers { name: "relu" type: RELU bottom: "conv" top: "conv" }
layers { name: "pool" type: POOLING bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "fc" type: INNER_PRODUCT bottom: "pool" top: "fc"
  inner_product_param { num_output: 4 weight_filler { type: "gaussian" std: 0.1 } } }
layers { name: "prob" type: SOFTMAX bottom: "fc" top: "prob" }
"""


def random_net(prototxt: str, out: Path, name: str, seed: int = 0) -> Path:
    """The net with its fillers' weights (and BatchNorm statistics that are not the identity), saved."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.prototxt"
    path.write_text(prototxt)
    np.random.seed(seed)
    caffe.set_random_seed(seed)
    net = caffe.Net(str(path), caffe.TEST)
    for layer, kind in zip(net._layer_names, (layer.type for layer in net.layers)):
        if kind == "BatchNorm":
            mean, var, factor = net.params[layer]
            mean.data[...] = np.random.uniform(-1, 1, mean.data.shape) * 2
            var.data[...] = np.random.uniform(0.5, 2, var.data.shape) * 2
            factor.data[...] = 2
    net.save(str(out / f"{name}.caffemodel"))
    return path


LENET = """name: "lenet"
{inputs}
layer {{ name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param {{ num_output: 16 kernel_size: 3 pad: 1 weight_filler {{ type: "xavier" }} }} }}
layer {{ name: "bn1" type: "BatchNorm" bottom: "conv1" top: "conv1" }}
layer {{ name: "scale1" type: "Scale" bottom: "conv1" top: "conv1" scale_param {{ bias_term: true }} }}
layer {{ name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }}
layer {{ name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" \
pooling_param {{ pool: MAX kernel_size: 3 stride: 2 }} }}
layer {{ name: "fc1" type: "InnerProduct" bottom: "pool1" top: "fc1"
  inner_product_param {{ num_output: 32 weight_filler {{ type: "xavier" }} }} }}
layer {{ name: "relu2" type: "ReLU" bottom: "fc1" top: "fc1" }}
layer {{ name: "drop" type: "Dropout" bottom: "fc1" top: "fc1" dropout_param {{ dropout_ratio: 0.2 }} }}
layer {{ name: "fc2" type: "InnerProduct" bottom: "fc1" top: "fc2"
  inner_product_param {{ num_output: 10 weight_filler {{ type: "xavier" }} }} }}
{head}
"""
TRAIN_INPUTS = (
    'layer { name: "data" type: "Input" top: "data" top: "label" '
    "input_param { shape { dim: 64 dim: 1 dim: 8 dim: 8 } shape { dim: 64 } } }"
)
DEPLOY_INPUTS = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 8 dim: 8 } } }'
TRAIN_HEAD = 'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc2" bottom: "label" top: "loss" }'
DEPLOY_HEAD = 'layer { name: "prob" type: "Softmax" bottom: "fc2" top: "prob" }'


def digits(data: Path, out: Path) -> None:
    """LeNet on 8x8 digits, trained by Caffe's SGD solver; the deploy net saved with the trained weights, and
    its held-out accuracy printed (a net that learned nothing fails the helper)."""
    out.mkdir(parents=True, exist_ok=True)
    arrays = np.load(data)
    images, labels = arrays["images"].astype(np.float32) / 16.0, arrays["labels"].astype(np.float32)
    train = out / "train.prototxt"
    train.write_text(LENET.format(inputs=TRAIN_INPUTS, head=TRAIN_HEAD))
    (out / "solver.prototxt").write_text(
        f'net: "{train}"\nbase_lr: 0.05\nmomentum: 0.9\nweight_decay: 0.0005\n'
        'lr_policy: "fixed"\nmax_iter: 1000\ndisplay: 0\nrandom_seed: 1\n'
        "solver_mode: CPU\n"
    )
    caffe.set_random_seed(1)
    solver = caffe.SGDSolver(str(out / "solver.prototxt"))
    rng = np.random.default_rng(1)
    held = 297
    for _ in range(400):
        pick = rng.integers(held, len(images), 64)
        solver.net.blobs["data"].data[...] = images[pick, None]
        solver.net.blobs["label"].data[...] = labels[pick]
        solver.step(1)
    deploy = out / "lenet.prototxt"
    deploy.write_text(LENET.format(inputs=DEPLOY_INPUTS, head=DEPLOY_HEAD))
    solver.net.save(str(out / "lenet.caffemodel"))
    net = caffe.Net(str(deploy), str(out / "lenet.caffemodel"), caffe.TEST)
    net.blobs["data"].reshape(held, 1, 8, 8)
    net.blobs["data"].data[...] = images[:held, None]
    accuracy = float(np.mean(net.forward()["prob"].argmax(1) == labels[:held]))
    np.savez(out / "held.npz", data=images[:8, None])
    print(f"held-out accuracy {accuracy:.3f}")
    if accuracy < 0.9:
        sys.exit(f"LeNet learned too little: {accuracy:.3f}")


def main(argv: list[str]) -> None:
    what = argv[0]
    if what == "layers":
        random_net(LAYERS, Path(argv[1]), "layers")
    elif what == "more":
        random_net(MORE, Path(argv[1]), "more")
    elif what == "v1":
        random_net(V1, Path(argv[1]), "old")
    elif what == "digits":
        digits(Path(argv[1]), Path(argv[2]))
    elif what == "net":
        random_net(Path(argv[1]).read_text(), Path(argv[2]), Path(argv[1]).stem)
    else:
        sys.exit(f"unknown net {what!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
