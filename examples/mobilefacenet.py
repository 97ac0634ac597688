"""Build the bundled example: an insightface-style MobileFaceNet in MXNet.

Runs in the `mxnet` runtime (`modelferry runtime exec mxnet -- python
examples/mobilefacenet.py --out DIR`). It has the traits that break
hand-made conversions of real insightface models:

- preprocessing baked in: `data` -> _minus_scalar(127.5) -> _mul_scalar(1/128);
- PReLU activations, depthwise convolutions and a residual add;
- a `pre_fc1` FullyConnected whose weight is named `fc1_weight`;
- a `fix_gamma=True` BatchNorm (`fc1`) whose stored gamma is not 1.

It trains for a few seconds on scikit-learn's digits (upscaled to 3x112x112,
0-255) so that quantized accuracy means something, then writes
`model-symbol.json`, `model-0000.params`, `calib.npz` (calibration images)
and `labels.npz` (held-out images and their labels).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import mxnet as mx
import numpy as np

SIZE = 112


def conv_block(x, name, channels, kernel=1, stride=1, pad=0, groups=1, act=True):
    x = mx.sym.Convolution(
        x,
        num_filter=channels,
        kernel=(kernel, kernel),
        stride=(stride, stride),
        pad=(pad, pad),
        num_group=groups,
        no_bias=True,
        name=f"{name}_conv2d",
    )
    x = mx.sym.BatchNorm(x, fix_gamma=False, eps=2e-5, momentum=0.9, name=f"{name}_batchnorm")
    if act:
        x = mx.sym.LeakyReLU(x, act_type="prelu", name=f"{name}_relu")
    return x


def mobilefacenet(num_classes: int = 10, embedding: int = 32):
    data = mx.sym.Variable("data")
    x = data - 127.5  # _minus_scalar
    x = x * 0.0078125  # _mul_scalar
    x = conv_block(x, "conv_1", 16, kernel=3, stride=2, pad=1)  # 56x56
    x = conv_block(x, "conv_2_dw", 16, kernel=3, stride=2, pad=1, groups=16)  # 28x28
    x = conv_block(x, "conv_23", 32)
    x = conv_block(x, "conv_23_dw", 32, kernel=3, stride=2, pad=1, groups=32)  # 14x14
    shortcut = x
    y = conv_block(x, "res_3_block0_conv_sep", 64)
    y = conv_block(y, "res_3_block0_conv_dw", 64, kernel=3, pad=1, groups=64)
    y = conv_block(y, "res_3_block0_conv_proj", 32, act=False)
    x = y + shortcut  # residual add
    x = conv_block(x, "conv_34_dw", 32, kernel=3, stride=2, pad=1, groups=32)  # 7x7
    x = conv_block(x, "conv_6sep", 64)
    x = conv_block(x, "conv_6dw7_7", 64, kernel=7, groups=64, act=False)  # GDC -> 1x1
    fc1_weight = mx.sym.Variable("fc1_weight")  # insightface's odd name for pre_fc1's weight
    x = mx.sym.FullyConnected(x, weight=fc1_weight, num_hidden=embedding, name="pre_fc1")
    x = mx.sym.BatchNorm(x, fix_gamma=True, eps=2e-5, momentum=0.9, name="fc1")
    logits = mx.sym.FullyConnected(x, num_hidden=num_classes, name="fc7")
    return logits


def digits_as_faces(seed: int = 0):
    """scikit-learn's 8x8 digits as 3x112x112 images in 0..255, with tinted channels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    img = digits.images.astype(np.float32) / 16.0  # N,8,8 in 0..1
    img = img.repeat(SIZE // 8, axis=1).repeat(SIZE // 8, axis=2)  # N,112,112
    rgb = np.stack([img * 230 + 10, img * 180 + 40, 220 - img * 200], axis=1)
    rgb += rng.normal(0, 8, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.float32), digits.target.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-images", type=int, default=1000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    mx.random.seed(0)
    np.random.seed(0)

    images, labels = digits_as_faces()
    order = np.random.permutation(len(images))
    train, held = order[: args.train_images], order[-200:]
    logits = mobilefacenet()
    net = mx.sym.SoftmaxOutput(logits, name="softmax")
    module = mx.mod.Module(net, data_names=["data"], label_names=["softmax_label"], context=mx.cpu())
    train_iter = mx.io.NDArrayIter(
        images[train], labels[train], batch_size=30, shuffle=True, label_name="softmax_label"
    )
    started = time.time()
    module.fit(
        train_iter,
        num_epoch=args.epochs,
        optimizer="adam",
        optimizer_params={"learning_rate": 0.003},
        initializer=mx.init.Xavier(magnitude=2.0),
    )
    arg_params, aux_params = module.get_params()

    # Real insightface checkpoints store a gamma for fc1 that MXNet ignores
    # (fix_gamma=True). Exporters that copy it produce silently wrong models.
    arg_params["fc1_gamma"] = mx.nd.array(np.random.uniform(0.5, 1.5, arg_params["fc1_gamma"].shape))

    prefix = str(args.out / "model")
    logits.save(f"{prefix}-symbol.json")
    mx.nd.save(
        f"{prefix}-0000.params",
        {**{f"arg:{k}": v for k, v in arg_params.items()}, **{f"aux:{k}": v for k, v in aux_params.items()}},
    )

    infer = mx.mod.Module(logits, data_names=["data"], label_names=None, context=mx.cpu())
    infer.bind(data_shapes=[("data", (len(held), 3, SIZE, SIZE))], for_training=False)
    infer.set_params(arg_params, aux_params)
    infer.forward(mx.io.DataBatch([mx.nd.array(images[held])]), is_train=False)
    accuracy = float((infer.get_outputs()[0].asnumpy().argmax(1) == labels[held]).mean())

    np.savez(args.out / "calib.npz", data=images[train[:32]])
    np.savez(args.out / "labels.npz", data=images[held].astype(np.uint8), label=labels[held].astype(np.int64))
    print(
        f"trained {args.epochs} epochs in {time.time() - started:.1f}s; "
        f"held-out accuracy {accuracy:.3f}; wrote {prefix}-symbol.json"
    )


if __name__ == "__main__":
    main()
