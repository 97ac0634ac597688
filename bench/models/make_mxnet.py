"""Bench model (mxnet runtime): Gluon's MobileNetV2 1.0 (random weights, fixed seed) as a checkpoint.

    modelferry runtime exec mxnet -- python bench/models/make_mxnet.py OUT_DIR

Writes OUT_DIR/mobilenetv2-symbol.json and mobilenetv2-0000.params (HybridBlock.export: params
keyed arg:/aux:, as mx.model.save_checkpoint writes them) and calib.npz (random 0..255 images
under "data"). Gluon's BatchNorm has scale=True (fix_gamma=False), so the stored gammas are used.
Untrained, its outputs barely depend on the input; its BatchNorm statistics are set from one
training-mode pass over random images (momentum 0 for that pass), as in bench/models/make_tf.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet.gluon.model_zoo import vision

SIZE = 224
INPUT = "data"  # the name HybridBlock.export gives the input


def _blocks(block: mx.gluon.Block) -> list[mx.gluon.Block]:
    return [block, *(b for child in block._children.values() for b in _blocks(child))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    mx.random.seed(0)
    np.random.seed(0)
    images = np.random.default_rng(0).uniform(0, 255, (16, 3, SIZE, SIZE)).astype(np.float32)
    net = vision.mobilenet_v2_1_0(pretrained=False)
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    norms = [block for block in _blocks(net) if isinstance(block, mx.gluon.nn.BatchNorm)]
    for block in norms:
        block._kwargs["momentum"] = 0.0  # running statistics := this batch's statistics
    with mx.autograd.record(train_mode=True):
        train_pass = net(mx.nd.array(images))
    train_pass.backward()  # MXNet's CPU (oneDNN) BatchNorm updates its running statistics in the backward pass
    for block in norms:
        block._kwargs["momentum"] = 0.9
    net.hybridize()
    logits = net(mx.nd.array(images[:4])).asnumpy()  # one pass builds the cached graph export() writes
    net.export(str(out / "mobilenetv2"), epoch=0)
    np.savez(out / "calib.npz", **{INPUT: images})
    print(
        f"MobileNetV2 1.0 written to {out}/mobilenetv2-symbol.json; on 4 images: top-1 "
        f"{logits.argmax(1).tolist()}, logits std {logits.std():.3f}"
    )


if __name__ == "__main__":
    main()
