"""Zoo builder (torch runtime): g2p_en's trained grapheme-to-phoneme GRU encoder-decoder as TorchScript and
torch.export files.

    modelferry runtime exec torch -- python bench/zoo/build_g2p.py WHEEL OUT

The wheel ships the weights as a NumPy archive (g2p_en/checkpoint20.npz: enc_emb, enc_w_ih, enc_w_hh,
enc_b_ih, enc_b_hh, dec_*, fc_w, fc_b) and runs them with its own NumPy GRU (G2p.grucell in g2p_en/g2p.py:
gates r, z, n in that order, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) — PyTorch's nn.GRU exactly). The
module here is that net in torch: an Embedding and a GRU encode the graphemes, the encoder's last state starts
the decoder GRU, a Linear gives the phoneme logits. G2p.predict feeds the decoder its own argmax one step at a
time; this module takes the decoder's inputs as a second input instead (teacher forcing: <s> = 2, then the
phonemes so far), so one call gives every step's logits. The archive is read with numpy.load(allow_pickle=False);
the package's grucell/gru/sigmoid are taken from g2p.py by its syntax tree (g2p.py imports nltk and inflect,
which do not run) and checked against this module on a word before anything is written. Writes g2p.pt
(torch.jit.trace) and g2p.pt2 (torch.export, dynamic batch) to OUT. The wheel is pinned by sha256 in
bench/zoo/catalog.py before this runs.

Inputs: graphemes int64 [batch, letters + 1] (ids 0..28: <pad> <unk> </s> a..z), phonemes int64
[batch, steps] (ids 0..73, the first <s> = 2). Output: logits float32 [batch, steps, 74].
"""

import ast
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn


class G2P(nn.Module):
    def __init__(self, weights: dict):
        super().__init__()
        (graphemes, width), hidden = weights["enc_emb"].shape, weights["enc_w_hh"].shape[1]
        phonemes = weights["dec_emb"].shape[0]
        self.enc_emb = nn.Embedding(graphemes, width)
        self.enc = nn.GRU(width, hidden, batch_first=True)
        self.dec_emb = nn.Embedding(phonemes, width)
        self.dec = nn.GRU(width, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, phonemes)
        state = {"enc_emb.weight": "enc_emb", "dec_emb.weight": "dec_emb", "fc.weight": "fc_w", "fc.bias": "fc_b"}
        for part in ("enc", "dec"):
            for kind in ("w_ih", "w_hh", "b_ih", "b_hh"):
                state[f"{part}.{'weight' if kind[0] == 'w' else 'bias'}_{kind[2:]}_l0"] = f"{part}_{kind}"
        self.load_state_dict({name: torch.from_numpy(np.array(weights[key])) for name, key in state.items()})

    def forward(self, graphemes, phonemes):
        _, hidden = self.enc(self.enc_emb(graphemes))
        steps, _ = self.dec(self.dec_emb(phonemes), hidden)
        return self.fc(steps)


def reference(source: str):
    """G2p's own NumPy GRU (sigmoid, grucell, gru), defined from g2p.py's syntax tree."""
    tree = ast.parse(source)
    g2p = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "G2p")
    methods = [
        node for node in g2p.body if isinstance(node, ast.FunctionDef) and node.name in ("sigmoid", "grucell", "gru")
    ]
    cls = ast.ClassDef(name="Reference", bases=[], keywords=[], body=methods, decorator_list=[])
    namespace = {"np": np}
    module = ast.fix_missing_locations(ast.Module(body=[cls], type_ignores=[]))
    exec(compile(module, "g2p_en/g2p.py", "exec"), namespace)
    return namespace["Reference"]()


def check(model: G2P, weights: dict, ref) -> float:
    """The module against the package's NumPy code on one word (teacher-forced over three phonemes)."""
    letters = np.array([[5, 17, 18, 27, 2]])  # c o p y </s>, g2p_en's grapheme ids
    dec_in = np.array([[2, 20, 50]])
    enc = ref.gru(
        weights["enc_emb"][letters],
        letters.shape[1],
        weights["enc_w_ih"],
        weights["enc_w_hh"],
        weights["enc_b_ih"],
        weights["enc_b_hh"],
        h0=np.zeros((1, weights["enc_w_hh"].shape[-1]), np.float32),
    )
    h, expected = enc[:, -1, :], []
    for step in dec_in[0]:
        h = ref.grucell(
            weights["dec_emb"][[step]],
            h,
            weights["dec_w_ih"],
            weights["dec_w_hh"],
            weights["dec_b_ih"],
            weights["dec_b_hh"],
        )
        expected.append(h @ weights["fc_w"].T + weights["fc_b"])
    with torch.no_grad():
        got = model(torch.from_numpy(letters), torch.from_numpy(dec_in)).numpy()[0]
    return float(np.abs(got - np.concatenate(expected)).max())


def main(wheel: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        with np.load(io.BytesIO(archive.read("g2p_en/checkpoint20.npz")), allow_pickle=False) as npz:
            weights = {key: npz[key] for key in npz.files}
        ref = reference(archive.read("g2p_en/g2p.py").decode())
    model = G2P(weights).eval()
    error = check(model, weights, ref)
    if error > 1e-4:
        raise SystemExit(f"the torch module differs from g2p_en's own NumPy GRU by {error}")
    graphemes = torch.randint(0, weights["enc_emb"].shape[0], (2, 8))
    phonemes = torch.randint(0, weights["dec_emb"].shape[0], (2, 6))
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(model, (graphemes, phonemes)), out / "g2p.pt")
        batch = torch.export.Dim("batch")
        program = torch.export.export(model, (graphemes, phonemes), dynamic_shapes=({0: batch}, {0: batch}))
        torch.export.save(program, out / "g2p.pt2")
    print(f"g2p: {sum(p.numel() for p in model.parameters())} parameters; max |torch - g2p_en NumPy| = {error:.2e}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
