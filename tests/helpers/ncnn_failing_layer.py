"""Test helper (ncnn runtime): a param file whose second layer ncnn cannot compute, a Crop that starts past
the end of its blob (what pnnx once wrote of basic-pitch's constant-Q transform), run through the ncnn
artifact's runner (stages/ncnn/model.py). Prints the reason it gives; exits 1 if it runs."""

import sys
import tempfile
from pathlib import Path

import numpy as np

from stages.errors import StageError
from stages.ncnn.files import BIN, PARAM
from stages.ncnn.model import NcnnModel

with tempfile.TemporaryDirectory() as work:
    folder = Path(work)
    (folder / PARAM).write_text(
        "\n".join(
            [
                "7767517",
                "3 3",
                "Input            in0      0 1 in0",
                "Crop             too_far  1 1 in0 cropped -23309=1,40 -23310=1,50 -23311=1,0",
                "ReLU             relu     1 1 cropped out0",
                "",
            ]
        )
    )
    (folder / BIN).write_bytes(b"")
    model = NcnnModel(
        folder, [{"name": "in0", "shape": [1, 8, 16]}], [{"name": "out0", "shape": [1, 8, 16]}], fp16=False
    )
    try:
        model({"in0": np.ones((1, 8, 16), np.float32)})
    except StageError as exc:
        print(exc)
        sys.exit(0)
print("ran")
sys.exit(1)
