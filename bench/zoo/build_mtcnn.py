"""Zoo builder (torch runtime): facenet-pytorch's trained MTCNN nets as TorchScript and torch.export files.

    modelferry runtime exec torch -- python bench/zoo/build_mtcnn.py WHEEL OUT

The wheel ships the nets' module code (facenet_pytorch/models/mtcnn.py, whose
imports pull in torchvision and PIL) and their weights as state_dicts
(data/pnet.pt …). The PNet/RNet/ONet classes are taken from that file by its
syntax tree and defined with torch alone; the weights are read with
torch.load(weights_only=True). Writes pnet/rnet/onet .pt (torch.jit.trace) and
.pt2 (torch.export, dynamic batch) to OUT. The wheel is pinned by sha256 in
bench/zoo/catalog.py before this runs.
"""

import ast
import io
import sys
import zipfile
from pathlib import Path

import torch
from torch import nn

NETS = {"PNet": ("pnet", (1, 3, 48, 48)), "RNet": ("rnet", (1, 3, 24, 24)), "ONet": ("onet", (1, 3, 48, 48))}


def classes(source: str) -> dict:
    """The net classes of mtcnn.py, defined with torch and nn only (no other import of the file runs)."""
    tree = ast.parse(source)
    kept = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name in NETS]
    namespace = {"torch": torch, "nn": nn, "os": None}
    exec(compile(ast.Module(body=kept, type_ignores=[]), "facenet_pytorch/models/mtcnn.py", "exec"), namespace)
    return {name: namespace[name] for name in NETS}


def main(wheel: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        nets = classes(archive.read("facenet_pytorch/models/mtcnn.py").decode())
        for cls_name, (stem, shape) in NETS.items():
            model = nets[cls_name](pretrained=False)
            state = torch.load(io.BytesIO(archive.read(f"facenet_pytorch/data/{stem}.pt")), weights_only=True)
            model.load_state_dict(state)
            model.eval()
            example = torch.rand(2, *shape[1:]) * 2 - 1
            torch.jit.save(torch.jit.trace(model, example), out / f"{stem}.pt")
            program = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
            torch.export.save(program, out / f"{stem}.pt2")
            print(f"{stem}: {sum(p.numel() for p in model.parameters())} parameters")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
