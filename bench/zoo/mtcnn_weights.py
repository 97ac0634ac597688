"""Zoo builder (torch runtime): facenet-pytorch's trained MTCNN weights as numpy arrays.

    modelferry runtime exec torch -- python bench/zoo/mtcnn_weights.py WHEEL OUT

Reads data/pnet.pt, rnet.pt and onet.pt from the wheel (pinned by sha256 in bench/zoo/catalog.py) with
torch.load(weights_only=True), and writes OUT/pnet.npz … for bench/zoo/build_mtcnn_caffe.py, which runs in the
caffe runtime (no torch there).
"""

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch


def main(wheel: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for stem in ("pnet", "rnet", "onet"):
            state = torch.load(io.BytesIO(archive.read(f"facenet_pytorch/data/{stem}.pt")), weights_only=True)
            np.savez(out / f"{stem}.npz", **{name: value.numpy() for name, value in state.items()})
            print(f"{stem}: {', '.join(f'{k}{list(v.shape)}' for k, v in state.items())}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
