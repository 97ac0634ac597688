"""Zoo builder (torch runtime): Resemblyzer's trained speaker encoder (a 3-layer LSTM) as TorchScript and
torch.export files.

    modelferry runtime exec torch -- python bench/zoo/build_resemblyzer.py WHEEL OUT

The wheel ships the net's module code (resemblyzer/voice_encoder.py, whose imports pull in librosa and
webrtcvad through resemblyzer.audio) and its weights (resemblyzer/pretrained.pt, a checkpoint dict whose
"model_state" is the state_dict). The VoiceEncoder class is taken from that file by its syntax tree and
defined with torch alone, its hyperparameters read from resemblyzer/hparams.py (plain assignments, read
with ast.literal_eval); the checkpoint is read with torch.load(weights_only=True), and its state_dict is
handed to the class's own __init__ through a temporary file holding tensors only. Writes resemblyzer.pt
(torch.jit.trace) and resemblyzer.pt2 (torch.export, dynamic batch; 160 frames) to OUT. The wheel is
pinned by sha256 in bench/zoo/catalog.py before this runs.

The input is a batch of 40-band mel power spectrograms, [batch, frames, 40] (1.6 s = 160 frames per
partial utterance in the package); the output is the L2-normalized 256-d embedding.
"""

import ast
import io
import sys
import tempfile
import zipfile
from pathlib import Path
from time import perf_counter
from typing import List, Union

import numpy as np
import torch
from torch import nn


def hparams(source: str) -> dict:
    """The constants of hparams.py (NAME = literal), nothing else of the file runs."""
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def encoder_class(source: str, constants: dict):
    """VoiceEncoder of voice_encoder.py, defined with torch and nn (the file's imports do not run)."""
    tree = ast.parse(source)
    kept = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "VoiceEncoder"]
    namespace = {
        "torch": torch,
        "nn": nn,
        "np": np,
        "Path": Path,
        "Union": Union,
        "List": List,
        "timer": perf_counter,
        "audio": None,
        **constants,
    }
    exec(compile(ast.Module(body=kept, type_ignores=[]), "resemblyzer/voice_encoder.py", "exec"), namespace)
    return namespace["VoiceEncoder"]


def main(wheel: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        constants = hparams(archive.read("resemblyzer/hparams.py").decode())
        VoiceEncoder = encoder_class(archive.read("resemblyzer/voice_encoder.py").decode(), constants)
        checkpoint = torch.load(
            io.BytesIO(archive.read("resemblyzer/pretrained.pt")), map_location="cpu", weights_only=True
        )
    state = {
        name: tensor for name, tensor in checkpoint["model_state"].items() if name.startswith(("lstm.", "linear."))
    }  # the checkpoint's similarity_* are for training
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "state.pt"
        torch.save({"model_state": state}, weights)
        model = VoiceEncoder(device="cpu", verbose=False, weights_fpath=weights)
    model.eval()
    missing = [name for name in model.state_dict() if name not in state]
    if missing:
        raise SystemExit(f"pretrained.pt lacks {missing}")
    frames = constants["partials_n_frames"]
    example = torch.rand(2, frames, constants["mel_n_channels"])
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(model, example), out / "resemblyzer.pt")
        dynamic = ({0: torch.export.Dim("batch")},)  # torch.export's LSTM specializes the frame count
        program = torch.export.export(model, (example,), dynamic_shapes=dynamic)
        torch.export.save(program, out / "resemblyzer.pt2")
        embedding = model(example)
    print(
        f"resemblyzer: {sum(p.numel() for p in model.parameters())} parameters, embedding {tuple(embedding.shape)}, "
        f"norms {embedding.norm(dim=1).tolist()}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
