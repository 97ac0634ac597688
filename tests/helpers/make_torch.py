"""Test helper (torch runtime): a small CNN trained briefly on scikit-learn's digits, saved every PyTorch way.

The digits come from the example's labels.npz (8x8 digits upscaled to 112x112),
taken back to 1x8x8, values 0..255. Writes:
  digits.pt    TorchScript (torch.jit.trace + torch.jit.save)
  digits.pt2   torch.export with a dynamic batch (torch.export.save)
  pickled.pt   torch.save of the whole module: unpickling it writes markers/pickled.ran
  legacy.pt    the same in torch.save's old non-zip format (markers/legacy.ran)
  payload.pt   torch.save's layout around a plain pickle whose loading writes markers/payload.ran
  evil.pt2     digits.pt2 whose example inputs are that plain pickle (markers/evil.ran): torch.export.load
               unpickles it when torch.load(weights_only=True) refuses it
  weights.pt   the state_dict only
  scaled.pt    TorchScript (torch.jit.script) whose forward(image, scale: int) takes a Python int
  calib.npz    64 digits under the input's name
Each trap is sprung once here, to prove it works, and its marker removed.
"""

import argparse
import copy
import io
import logging
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from tests.helpers.torch_net import DigitsNet

parser = argparse.ArgumentParser()
parser.add_argument("labels")
parser.add_argument("out", type=Path)
args = parser.parse_args()
out = args.out
(out / "markers").mkdir(parents=True, exist_ok=True)

held = np.load(args.labels)
images = np.ascontiguousarray(held["data"][:, 0:1, ::14, ::14], dtype=np.float32)  # N,1,8,8 in 0..255
labels = torch.from_numpy(held["label"].astype(np.int64))
x = torch.from_numpy(images)

torch.manual_seed(0)
model = DigitsNet()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for _ in range(80):
    for start in range(0, 160, 32):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[start : start + 32]), labels[start : start + 32])
        loss.backward()
        optimizer.step()
model.eval()
with torch.no_grad():
    accuracy = (model(x[160:]).argmax(1) == labels[160:]).float().mean().item()

torch.jit.save(torch.jit.trace(model, x[:2]), out / "digits.pt")
program = torch.export.export(model, (x[:2],), dynamic_shapes=({0: torch.export.Dim("batch")},))
torch.export.save(program, out / "digits.pt2")
torch.save(model.state_dict(), out / "weights.pt")


class Scaled(torch.nn.Module):
    """The digits net with a non-tensor argument, as audio models take `sr: int`."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image, scale: int):
        return self.net(image) * scale


torch.jit.save(torch.jit.script(Scaled(model)), out / "scaled.pt")
np.savez(out / "calib.npz", image=images[:64])


class Trap:
    """A plain pickle that writes a file when loaded: open(marker, 'w') runs on unpickling."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def torch_save_layout(root: str, pickled: bytes) -> bytes:
    """The zip torch.save writes (root/data.pkl, version, byteorder) around any pickle."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{root}/data.pkl", pickled)
        archive.writestr(f"{root}/byteorder", "little")
        archive.writestr(f"{root}/version", "3\n")
    return buffer.getvalue()


def sprung(marker: Path, load) -> None:
    """Prove the trap: loading the unsafe way writes its marker. Then remove it."""
    assert not marker.exists()
    try:
        load()
    except Exception:
        pass  # the trap fires before whatever fails next
    assert marker.exists(), f"the trap for {marker.name} did not fire"
    marker.unlink()


pickled_marker = out / "markers" / "pickled.ran"
trapped = copy.deepcopy(model)
trapped.marker = str(pickled_marker)
torch.save(trapped, out / "pickled.pt")
sprung(pickled_marker, lambda: torch.load(out / "pickled.pt", weights_only=False))
legacy_marker = out / "markers" / "legacy.ran"
trapped.marker = str(legacy_marker)
torch.save(trapped, out / "legacy.pt", _use_new_zipfile_serialization=False)
sprung(legacy_marker, lambda: torch.load(out / "legacy.pt", weights_only=False))

payload_marker = out / "markers" / "payload.ran"
payload = pickle.dumps(Trap(payload_marker), protocol=2)
(out / "payload.pt").write_bytes(torch_save_layout("payload", payload))
sprung(payload_marker, lambda: pickle.loads(payload))

evil_marker = out / "markers" / "evil.ran"
with zipfile.ZipFile(out / "digits.pt2") as source, zipfile.ZipFile(out / "evil.pt2", "w") as evil:
    for entry in source.infolist():
        data = source.read(entry)
        if entry.filename.endswith("data/sample_inputs/model.pt"):
            data = torch_save_layout("model", pickle.dumps(Trap(evil_marker), protocol=2))
        evil.writestr(entry, data)
logging.getLogger("torch._export.serde.serialize").disabled = True  # its fallback warning
sprung(evil_marker, lambda: torch.export.load(out / "evil.pt2"))  # torch's own loader, unguarded

print(f"held-out accuracy {accuracy:.3f}")
