"""Test helper (torch runtime): a published PyTorch folder (emit/pytorch) run as a user would, without
modelferry: model.pt2 with torch.export.load, model.pt with torch.jit.load, and state_dict.pt loaded
weights-only and compared with the TorchScript module's own parameters and buffers.

    python torch_forward.py FOLDER INPUTS.npz OUT.npz
INPUTS.npz is keyed by the model's (ONNX) input names; OUT.npz holds `pt2:<output>` and `pt:<output>` for
each output name, and `state_dict_matches` (1 or 0).
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

folder, inputs, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
names = json.loads((folder / "names.json").read_text())
with np.load(inputs, allow_pickle=False) as npz:
    args = [torch.from_numpy(npz[name]) for name in names["inputs"]]  # forward()'s order


def outputs(result) -> dict[str, np.ndarray]:
    result = list(result) if isinstance(result, (tuple, list)) else [result]
    return {name: result[index].numpy() for name, index in names["outputs"].items()}


with torch.no_grad():
    program = torch.export.load(str(folder / "model.pt2"))
    by_pt2 = outputs(program.module()(*args))
    script = torch.jit.load(str(folder / "model.pt"))
    by_pt = outputs(script(*args))
state = torch.load(folder / "state_dict.pt", weights_only=True)
own = script.state_dict()
matches = set(state) == set(own) == set(names["parameters"].values()) and all(
    torch.equal(state[k], own[k]) for k in state
)
np.savez(
    out,
    **{f"pt2:{k}": v for k, v in by_pt2.items()},
    **{f"pt:{k}": v for k, v in by_pt.items()},
    state_dict_matches=np.array(int(matches)),
)
print({k: v.shape for k, v in by_pt2.items()}, "state_dict matches" if matches else "state_dict DIFFERS")
