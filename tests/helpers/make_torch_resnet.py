"""Test helper (torch runtime): a ResNet-style network as TorchScript, for PyTorch -> MXNet.

    python tests/helpers/make_torch_resnet.py OUT      -> OUT/resnet.pt

What trips hand-written PyTorch -> MXNet ports: BatchNorm (PyTorch's eps 1e-5, here also a layer at 1e-3,
running statistics far from 0 and 1, non-trivial gamma: MXNet's fix_gamma=True default would ignore it)
and the stem's MaxPool(kernel 3, stride 2, padding 1, ceil_mode=True), whose output on a 32x32 map is
17x17 where the floor convention gives 16x16. Weights seeded, statistics set, eval mode.
"""

import sys
from pathlib import Path

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, eps: float = 1e-5):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (
            None
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class ResNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)
        self.layer1 = Block(16, 16, 1, eps=1e-3)
        self.layer2 = Block(16, 32, 2)
        self.fc = nn.Linear(32, 10)

    def forward(self, image):
        x = self.pool(torch.relu(self.bn1(self.conv1(image / 255.0))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
net = ResNetish()
with torch.no_grad():
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.uniform_(0.5, 1.5)
            module.bias.uniform_(-0.2, 0.2)
net.eval()
example = torch.rand(1, 3, 64, 64) * 255
assert net.pool(torch.zeros(1, 16, 32, 32)).shape[-1] == 17  # ceil_mode matters at this size
torch.jit.save(torch.jit.trace(net, example), str(out / "resnet.pt"))
