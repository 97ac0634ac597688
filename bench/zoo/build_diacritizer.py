"""Zoo builder (torch runtime): arabic-diacritizer's trained BiLSTM + additive-attention tagger as TorchScript
and torch.export files.

    modelferry runtime exec torch -- python bench/zoo/build_diacritizer.py WHEEL OUT

The wheel ships the net's module code (diacritize/baseline/model.py, whose imports pull in the package's
tokenizer and Unicode helpers) and its weights as a state_dict (diacritize/assets/bilstm_best.pt). The
BahdanauAttention and BiLSTMDiacritizer classes are taken from model.py by its syntax tree and defined with
torch alone; BASELINE_DEFAULTS and NUM_CLASSES are read from diacritize/config.py (NUM_CLASSES as the number
of keys of its LABEL_MAP display); the vocabulary size is the embedding's row count. The weights are read with
torch.load(weights_only=True). Writes diacritizer.pt (torch.jit.trace) and diacritizer.pt2 (torch.export,
dynamic batch) to OUT. The wheel is pinned by sha256 in bench/zoo/catalog.py before this runs.

Input: input_ids int64 [batch, characters] (0 <pad>, 1 <unk>, 2 <bos>, 3 <eos>, then the Arabic letters;
the package feeds the letters only, add_special=False). Output: logits float32 [batch, characters, 15].
"""

import __future__

import ast
import io
import sys
import zipfile
from pathlib import Path

import torch
from torch import nn


def config(source: str) -> dict:
    """BASELINE_DEFAULTS and NUM_CLASSES of config.py, read as literals (nothing of the file runs)."""
    assigned = {
        node.targets[0].id: node.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
    }
    return {
        "BASELINE_DEFAULTS": ast.literal_eval(assigned["BASELINE_DEFAULTS"]),
        "NUM_CLASSES": len(assigned["LABEL_MAP"].keys),
    }  # a dict display keyed by the file's constants


def classes(source: str, constants: dict):
    """The two classes of model.py, defined with torch and nn only (its annotations stay unevaluated)."""
    tree = ast.parse(source)
    kept = [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name in ("BahdanauAttention", "BiLSTMDiacritizer")
    ]
    namespace = {
        "torch": torch,
        "nn": nn,
        "MODELS_DIR": None,
        "ID_TO_LABEL": None,
        "CharTokenizer": None,
        "apply_diacritics": None,
        "strip_diacritics": None,
        **constants,
    }
    code = compile(
        ast.Module(body=kept, type_ignores=[]),
        "diacritize/baseline/model.py",
        "exec",
        flags=__future__.annotations.compiler_flag,
        dont_inherit=True,
    )
    exec(code, namespace)
    return namespace["BiLSTMDiacritizer"]


def main(wheel: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        constants = config(archive.read("diacritize/config.py").decode())
        BiLSTMDiacritizer = classes(archive.read("diacritize/baseline/model.py").decode(), constants)
        state = torch.load(
            io.BytesIO(archive.read("diacritize/assets/bilstm_best.pt")), map_location="cpu", weights_only=True
        )
    vocab = state["embedding.weight"].shape[0]
    model = BiLSTMDiacritizer(vocab_size=vocab)
    model.load_state_dict(state)
    model.eval()
    example = torch.randint(4, vocab, (2, 24))
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(model, (example,)), out / "diacritizer.pt")
        program = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
        torch.export.save(program, out / "diacritizer.pt2")
        logits = model(example)
    print(
        f"diacritizer: vocabulary {vocab}, {sum(p.numel() for p in model.parameters())} parameters, "
        f"logits {tuple(logits.shape)}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
