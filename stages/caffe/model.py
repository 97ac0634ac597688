"""A Caffe net in pycaffe (Debian bullseye's BVLC Caffe 1.0, CPU): loaded, filled, saved and run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from stages.errors import StageError

os.environ.setdefault("GLOG_minloglevel", "2")  # before caffe is imported: its INFO lines per layer


def caffe():
    import caffe as module

    module.set_mode_cpu()
    return module


class CaffeModel:
    """Called with {input blob: array}, returns {output blob: array} (the model's tensor names)."""

    def __init__(self, prototxt: Path, caffemodel: Path, outputs: list[str]):
        pycaffe = caffe()
        self.net = pycaffe.Net(str(prototxt), str(caffemodel), pycaffe.TEST)
        missing = [name for name in outputs if name not in self.net.blobs]
        if missing:
            raise StageError(f"{prototxt.name} has no blob for output(s) {', '.join(missing)}")
        self.outputs = outputs

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for name, array in inputs.items():
            blob = self.net.blobs[name]
            blob.reshape(*array.shape)
            blob.data[...] = array
        self.net.forward()
        return {name: self.net.blobs[name].data.copy() for name in self.outputs}
