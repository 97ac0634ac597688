"""Bench model (torch runtime): a compact MobileNetV2 (width 1.0, 224x224) in plain torch.nn, random weights.

    modelferry runtime exec torch -- python bench/models/make_torch.py OUT_DIR

There is no torchvision in the runtime, so the net is written out here: the inverted residual
blocks of Sandler et al. (expand 1x1, depthwise 3x3, project 1x1; ReLU6; residual where the
shape allows), 1280 features, 1000 logits. Writes OUT_DIR/mobilenetv2.pt (torch.jit.trace +
torch.jit.save), mobilenetv2.pt2 (torch.export with a dynamic batch, torch.export.save) and
calib.npz (random 0..255 images under "image"). Untrained, its outputs barely depend on the
input; its BatchNorm statistics are set from one training-mode pass over random images
(cumulative averaging over that one batch), as in bench/models/make_tf.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

SIZE = 224
INPUT = "image"
# (expansion t, channels c, repeats n, first stride s), as in the paper's table 2.
BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if relu:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers = [conv_bn(cin, hidden, 1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), conv_bn(hidden, cout, 1, relu=False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [conv_bn(3, 32, 3, 2)]
        cin = 32
        for expand, cout, repeats, stride in BLOCKS:
            for index in range(repeats):
                layers.append(InvertedResidual(cin, cout, stride if index == 0 else 1, expand))
                cin = cout
        layers.append(conv_bn(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(image).mean(dim=(2, 3)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    images = np.random.default_rng(0).uniform(0, 255, (16, 3, SIZE, SIZE)).astype(np.float32)
    model = MobileNetV2()
    for norm in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        norm.reset_running_stats()
        norm.momentum = None  # running statistics := this batch's statistics
    with torch.no_grad():
        model.train()(torch.from_numpy(images))
    for norm in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        norm.momentum = 0.1
    model.eval()
    example = torch.from_numpy(images[:2])
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(model, example), out / "mobilenetv2.pt")
        program = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, out / "mobilenetv2.pt2")
    np.savez(out / "calib.npz", **{INPUT: images})
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        logits = model(torch.from_numpy(images[:4])).numpy()
    print(
        f"MobileNetV2 ({params:,} parameters) written to {out}; on 4 images: top-1 "
        f"{logits.argmax(1).tolist()}, logits std {logits.std():.3f}"
    )


if __name__ == "__main__":
    main()
