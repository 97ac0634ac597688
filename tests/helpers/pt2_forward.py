"""Test helper (torch runtime): a torch.export .pt2's outputs, in order, for the arrays of INPUTS.npz (in the
archive's order): OUT.npz holds out0, out1, …

    python pt2_forward.py MODEL.pt2 INPUTS.npz OUT.npz
"""

import sys

import numpy as np
import torch

with np.load(sys.argv[2], allow_pickle=False) as npz:
    args = [torch.from_numpy(npz[name]) for name in npz.files]
with torch.no_grad():
    result = torch.export.load(sys.argv[1]).module()(*args)
result = list(result) if isinstance(result, (tuple, list)) else [result]
np.savez(sys.argv[3], **{f"out{index}": value.numpy() for index, value in enumerate(result)})
