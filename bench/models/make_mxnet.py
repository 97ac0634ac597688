"""Bench model (mxnet runtime): Gluon's MobileNetV2 1.0 (random weights, fixed seed) as a checkpoint.

    modelferry runtime exec mxnet -- python bench/models/make_mxnet.py OUT_DIR

Writes OUT_DIR/mobilenetv2-symbol.json and mobilenetv2-0000.params (HybridBlock.export: params
keyed arg:/aux:, as mx.model.save_checkpoint writes them) and calib.npz (random 0..255 images
under "data"). Gluon's BatchNorm has scale=True (fix_gamma=False), so the stored gammas are used.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet.gluon.model_zoo import vision

SIZE = 224
INPUT = "data"   # the name HybridBlock.export gives the input


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    mx.random.seed(0)
    np.random.seed(0)
    net = vision.mobilenet_v2_1_0(pretrained=False)
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    net.hybridize()
    net(mx.nd.zeros((1, 3, SIZE, SIZE)))   # one forward pass builds the cached graph export() writes
    net.export(str(out / "mobilenetv2"), epoch=0)
    rng = np.random.default_rng(0)
    np.savez(out / "calib.npz", **{INPUT: rng.uniform(0, 255, (16, 3, SIZE, SIZE)).astype(np.float32)})
    print(f"MobileNetV2 1.0 written to {out}/mobilenetv2-symbol.json")


if __name__ == "__main__":
    main()
