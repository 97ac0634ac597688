"""Test helper (torch runtime): hostile TorchScript and torch.export archives, built at test time.

    python make_hostile_torch.py OUT MARKERS CANARY

OUT/cases-torch.json lists them (see make_hostile_tf.py). Nothing here runs a payload: modules are
scripted (compiled), not called; torch.export archives are edited as JSON.
"""

import json
import sys
import zipfile
from pathlib import Path

import torch

out, markers, canary = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
cases = []
SHAPE = ["--input-shape", "x:1,4", "--input-range", "x:-1,1"]


def case(file, expect, args=SHAPE, what=""):
    cases.append({"file": str(file), "expect": list(expect), "args": list(args), "what": what})


MARK, SECRET = str(markers / "torch-from-file"), str(canary)


class WritesAFile(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.path = MARK

    def forward(self, x):
        mapped = torch.from_file(self.path, True, 16)  # shared=True creates the file
        return x * 2.0 + mapped.sum() * 0.0


class ReadsAFile(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.path = SECRET

    def forward(self, x):
        secret = torch.from_file(self.path, False, 8, dtype=torch.uint8)
        return x * 2.0 + secret.sum().float() * 0.0


class Inner(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.path = MARK

    def forward(self, x):
        return x + torch.from_file(self.path, True, 4).sum() * 0.0


class CallsIt(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Inner()

    def forward(self, x):
        return self.inner(x) * 2.0


class AtLoad(torch.nn.Module):
    """__setstate__ runs when torch.jit.load unpickles the module, before anything calls it."""

    def __init__(self):
        super().__init__()
        self.scale = torch.ones(1)
        self.path = MARK

    def forward(self, x):
        return x * self.scale

    @torch.jit.export
    def __getstate__(self):
        return (self.scale, self.training, self.path)

    @torch.jit.export
    def __setstate__(self, state: tuple[torch.Tensor, bool, str]):
        self.path = state[2]
        self.scale = state[0] + torch.from_file(self.path, True, 1).sum() * 0.0
        self.training = state[1]


for name, module, what in (
    ("ts_from_file_write.pt", WritesAFile(), "forward() maps a file it creates"),
    ("ts_from_file_read.pt", ReadsAFile(), "forward() reads a file"),
    ("ts_submodule.pt", CallsIt(), "a submodule's forward() maps a file"),
    ("ts_setstate.pt", AtLoad(), "__setstate__ maps a file at load"),
):
    torch.jit.script(module).save(str(out / name))
    case(out / name, ["aten::from_file"], what=what)


class Plain(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x):
        return torch.relu(self.fc(x))


program = torch.export.export(
    Plain(), (torch.zeros(2, 4),), dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1, max=64)}}
)
torch.export.save(program, str(out / "plain.pt2"))


def edited(target: str, name: str):
    """plain.pt2 with its relu node's target replaced."""
    with zipfile.ZipFile(out / "plain.pt2") as source, zipfile.ZipFile(out / name, "w") as result:
        for entry in source.namelist():
            data = source.read(entry)
            if entry.endswith("models/model.json"):
                data = data.replace(b"torch.ops.aten.relu.default", target.encode())
            result.writestr(entry, data)
    return out / name


for target, name, what in (
    ("torch.ops.aten.from_file.default", "pt2_from_file.pt2", "a graph node aten.from_file"),
    ("torch.ops.aten.save.default", "pt2_save.pt2", "a graph node aten.save"),
    ("torch.ops._c10d_functional.all_reduce.default", "pt2_c10d.pt2", "a distributed (network) collective"),
    ("torch.ops.evil.run.default", "pt2_custom_namespace.pt2", "an op of a custom namespace"),
):
    case(edited(target, name), [target, "relu"], ["--input-range", "x:-1,1"], what)

torch.save(Plain(), str(out / "pickled_module.pt"))
case(out / "pickled_module.pt", ["pickled Python object"], what="torch.save of a whole module (a pickle)")

(out / "cases-torch.json").write_text(json.dumps(cases, indent=2))
print(f"{len(cases)} hostile models")
