"""Test helper (torch runtime): the digits CNN, importable so that a pickle of it can really be unpickled.

Unpickling an instance with `marker` set writes that file (nn.Module's
__setstate__ runs on unpickling): the trap that proves a loader never
unpickled a file.
"""

from pathlib import Path

import torch
from torch import nn


class DigitsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.depthwise = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32, 10)

    def forward(self, image):
        x = torch.relu(self.bn1(self.conv1(image / 255.0)))
        x = torch.max_pool2d(torch.relu(self.depthwise(x)), 2)
        x = torch.relu(self.conv2(x))
        return self.fc(x.mean(dim=(2, 3)))

    def __setstate__(self, state):
        if state.get("marker"):
            Path(state["marker"]).write_text("unpickled: the loader ran code from the file\n")
        super().__setstate__(state)
