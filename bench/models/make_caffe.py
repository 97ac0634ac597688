"""Bench model (caffe runtime): MobileNetV2 (width 1.0, 224x224) as a Caffe net, written the way Caffe users
write it, with random weights.

    modelferry runtime exec caffe --runtime docker --writable OUT_DIR -- python bench/models/make_caffe.py OUT_DIR

The inverted residual blocks of Sandler et al. (expand 1x1, depthwise 3x3 as a Convolution with group =
channels, project 1x1), each convolution followed by in-place BatchNorm + Scale and ReLU6 as Caffe's Clip
layer, residual sums as Eltwise, global average pooling, a 1000-way InnerProduct and Softmax. Writes
OUT_DIR/mobilenetv2.prototxt + mobilenetv2.caffemodel and calib.npz (random 0..255 images under "data").
Untrained: its BatchNorm statistics are set layer by layer from random images, as the other bench
builders do (bench/models/make_tf.py), so activations stay in range.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
import caffe  # noqa: E402
import numpy as np  # noqa: E402

SIZE = 224
BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class Writer:
    def __init__(self):
        self.lines = [
            'name: "MobileNetV2"',
            'layer { name: "data" type: "Input" top: "data" '
            f"input_param {{ shape {{ dim: 1 dim: 3 dim: {SIZE} dim: {SIZE} }} }} }}",
        ]
        self.norms: list[str] = []

    def conv_bn(
        self, name: str, bottom: str, count: int, kernel: int, stride: int = 1, group: int = 1, relu: bool = True
    ) -> str:
        group_text = f" group: {group}" if group > 1 else ""
        self.lines.append(
            f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{name}"\n'
            f"  convolution_param {{ num_output: {count} kernel_size: {kernel} stride: {stride} pad: {kernel // 2}"
            f'{group_text} bias_term: false weight_filler {{ type: "msra" }} }} }}'
        )
        self.lines.append(f'layer {{ name: "{name}/bn" type: "BatchNorm" bottom: "{name}" top: "{name}" }}')
        self.lines.append(
            f'layer {{ name: "{name}/scale" type: "Scale" bottom: "{name}" top: "{name}" '
            "scale_param { bias_term: true } }"
        )
        self.norms.append(name)
        if relu:
            self.lines.append(
                f'layer {{ name: "{name}/relu6" type: "Clip" bottom: "{name}" top: "{name}" '
                "clip_param { min: 0 max: 6 } }"
            )
        return name

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def mobilenetv2() -> Writer:
    w = Writer()
    top, channels = w.conv_bn("conv1", "data", 32, 3, 2), 32
    for stage, (expand, count, repeats, first_stride) in enumerate(BLOCKS, 1):
        for index in range(repeats):
            name, stride = f"block{stage}_{index}", first_stride if index == 0 else 1
            hidden = top if expand == 1 else w.conv_bn(f"{name}/expand", top, channels * expand, 1)
            hidden = w.conv_bn(f"{name}/dw", hidden, channels * expand, 3, stride, channels * expand)
            out = w.conv_bn(f"{name}/project", hidden, count, 1, relu=False)
            if stride == 1 and channels == count:
                w.lines.append(
                    f'layer {{ name: "{name}/add" type: "Eltwise" bottom: "{top}" bottom: "{out}" top: "{name}/add" }}'
                )
                out = f"{name}/add"
            top, channels = out, count
    top = w.conv_bn("conv_last", top, 1280, 1)
    w.lines.append(
        f'layer {{ name: "pool" type: "Pooling" bottom: "{top}" top: "pool" '
        "pooling_param { pool: AVE global_pooling: true } }"
    )
    w.lines.append(
        'layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" '
        'inner_product_param { num_output: 1000 weight_filler { type: "msra" } } }'
    )
    w.lines.append('layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }')
    return w


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    writer = mobilenetv2()
    prototxt = out / "mobilenetv2.prototxt"
    prototxt.write_text(writer.text())
    caffe.set_random_seed(0)
    net = caffe.Net(str(prototxt), caffe.TEST)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (4, 3, SIZE, SIZE)).astype(np.float32)
    net.blobs["data"].reshape(*images.shape)
    net.blobs["data"].data[...] = (images - 127.5) / 127.5
    for name in writer.norms:  # each BatchNorm's statistics from what reaches it (earlier ones already set)
        net.forward(end=name)
        values = net.blobs[name].data
        mean, var, factor = net.params[f"{name}/bn"]
        mean.data[...], var.data[...], factor.data[...] = values.mean((0, 2, 3)), values.var((0, 2, 3)) + 1e-3, 1
        gamma, beta = net.params[f"{name}/scale"]
        gamma.data[...], beta.data[...] = rng.uniform(0.5, 1.5, gamma.data.shape), rng.normal(0, 0.1, beta.data.shape)
    net.save(str(out / "mobilenetv2.caffemodel"))
    np.savez(out / "calib.npz", data=images[:4].astype(np.float32))
    print(
        f"mobilenetv2.prototxt: {len(writer.lines)} layers, "
        f"{sum(b.data.size for p in net.params.values() for b in p)} weights"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
