"""Test helper (coreml runtime): modelferry's MIL interpreter against PyTorch, op group by op group.

Each case is a small torch module, traced and converted by coremltools to an fp32 ML program (and, for
some, fp16), saved, then run by stages/coreml/mil; its outputs must match torch's on the same inputs
(fp32: max abs error <= 1e-4 x max(1, max|torch|); fp16: cosine >= 0.999). It also checks the blob reader
against coremltools' own (libmilstoragepython) and that a program with an op the interpreter does not know
is refused naming the op. Exits non-zero naming every case that failed; prints the MIL ops covered.

    python tests/helpers/coreml_op_cases.py WORKDIR
"""

import os
import sys
import warnings
from pathlib import Path

os.environ["TQDM_DISABLE"] = "1"
warnings.filterwarnings("ignore")

import coremltools as ct  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from stages.coreml.mil.blob import BlobFile  # noqa: E402
from stages.coreml.mil.program import Program, Unsupported  # noqa: E402

work = Path(sys.argv[1])
work.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)


class Fn(nn.Module):
    def __init__(self, fn, *layers):
        super().__init__()
        self.fn, self.layers = fn, nn.ModuleList(layers)

    def forward(self, *xs):
        return self.fn(self.layers, *xs)


def only(layer):
    return Fn(lambda layers, x: layers[0](x), layer)


def bn(channels):
    norm = nn.BatchNorm2d(channels)
    norm.running_mean.uniform_(-1, 1)
    norm.running_var.uniform_(0.5, 2)
    norm.weight.data.uniform_(0.5, 1.5)
    norm.bias.data.uniform_(-0.5, 0.5)
    return norm


IMAGE = (1, 4, 13, 15)
CASES = {  # name -> (module, input shapes, precisions)
    "conv 3x3 pad 1": (only(nn.Conv2d(4, 6, 3, padding=1)), [IMAGE], ("fp32", "fp16")),
    "conv stride 2 dilation 2": (only(nn.Conv2d(4, 6, 3, stride=2, dilation=2, padding=2)), [IMAGE], ("fp32",)),
    "conv grouped": (only(nn.Conv2d(4, 8, 3, groups=2, bias=False)), [IMAGE], ("fp32",)),
    "conv depthwise": (only(nn.Conv2d(4, 4, 5, groups=4, padding=2)), [IMAGE], ("fp32",)),
    "conv1d": (only(nn.Conv1d(4, 3, 3, padding=1)), [(1, 4, 20)], ("fp32",)),
    "conv_transpose stride 2": (
        only(nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)),
        [IMAGE],
        ("fp32",),
    ),
    "conv_transpose grouped": (only(nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1, groups=2)), [IMAGE], ("fp32",)),
    "max_pool ceil": (only(nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)), [IMAGE], ("fp32",)),
    "max_pool 2x2": (only(nn.MaxPool2d(2)), [IMAGE], ("fp32",)),
    "avg_pool pad counted": (only(nn.AvgPool2d(3, 2, padding=1)), [IMAGE], ("fp32",)),
    "avg_pool pad excluded ceil": (
        only(nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False)),
        [IMAGE],
        ("fp32",),
    ),
    "global avg pool": (only(nn.AdaptiveAvgPool2d(1)), [IMAGE], ("fp32",)),
    "batch_norm + relu6 + hardswish": (
        Fn(lambda l, x: F.hardswish(F.relu6(l[0](x) * 3)), bn(4)),
        [IMAGE],
        ("fp32", "fp16"),
    ),
    "prelu + leaky + elu": (Fn(lambda l, x: F.elu(F.leaky_relu(l[0](x), 0.1)), nn.PReLU(4, 0.2)), [IMAGE], ("fp32",)),
    "sigmoid tanh silu gelu": (
        Fn(lambda l, x: torch.sigmoid(x) + torch.tanh(x) + F.silu(x) + F.gelu(x) + F.gelu(x, approximate="tanh")),
        [IMAGE],
        ("fp32",),
    ),
    "softmax + log_softmax + softplus": (
        Fn(lambda l, x: F.softmax(x, 1) + F.log_softmax(x, -1) + F.softplus(x)),
        [IMAGE],
        ("fp32",),
    ),
    "elementwise": (
        Fn(
            lambda l, x, y: (
                (x + y) * (x - y) / (y.abs() + 1)
                + torch.maximum(x, y)
                - torch.minimum(x, y)
                + torch.pow(x.abs(), 1.5)
                + torch.where(x > y, x, y)
            )
        ),
        [IMAGE, (1, 4, 1, 15)],
        ("fp32",),
    ),
    "unary": (
        Fn(
            lambda l, x: (
                torch.sqrt(x.abs() + 1)
                + torch.exp(x / 4)
                + torch.log(x.abs() + 1)
                + torch.floor(x)
                + torch.ceil(x)
                + torch.sin(x)
                + torch.cos(x)
                + torch.rsqrt(x.abs() + 1)
                + torch.erf(x)
                + torch.reciprocal(x.abs() + 1)
                + torch.sign(x)
                + torch.round(x * 3)
            )
        ),
        [IMAGE],
        ("fp32",),
    ),
    "reductions": (
        Fn(
            lambda l, x: torch.cat(
                [x.mean((2, 3)), x.sum(2).amax(2), x.amin((1, 2)).reshape(1, -1)[:, :4], x.norm(dim=(2, 3))], 1
            )
        ),
        [IMAGE],
        ("fp32",),
    ),
    "argmax": (Fn(lambda l, x: torch.argmax(x, 1).to(torch.float32)), [IMAGE], ("fp32",)),
    "linear + matmul": (
        Fn(lambda l, x, y: l[0](x) @ y.transpose(-1, -2), nn.Linear(15, 7)),
        [(1, 4, 15), (1, 3, 7)],
        ("fp32", "fp16"),
    ),
    "batched matmul": (Fn(lambda l, x, y: torch.matmul(x, y)), [(2, 3, 4, 5), (2, 3, 5, 6)], ("fp32",)),
    "layer_norm + instance_norm": (
        Fn(lambda l, x: l[1](l[0](x)), nn.LayerNorm(15), nn.InstanceNorm2d(4, affine=True)),
        [IMAGE],
        ("fp32",),
    ),
    "group_norm": (only(nn.GroupNorm(2, 4)), [IMAGE], ("fp32",)),
    "local_response_norm": (only(nn.LocalResponseNorm(3)), [IMAGE], ("fp32",)),
    "l2 normalize": (Fn(lambda l, x: F.normalize(x.flatten(1), dim=1)), [IMAGE], ("fp32",)),
    "reshape transpose concat": (
        Fn(lambda l, x: torch.cat([x.permute(0, 2, 3, 1).reshape(1, -1, 4), x.transpose(1, 3).flatten(1, 2)], 1)),
        [IMAGE],
        ("fp32",),
    ),
    "split slice gather": (
        Fn(
            lambda l, x: (
                torch.cat(
                    [
                        *torch.split(x, [1, 3], 1)[::-1],
                        x[:, :, 2:11:3, ::2][..., :4].repeat(1, 1, 1, 1)[:, :, :1, :1].expand(1, 4, 13, 15),
                    ],
                    1,
                )
                + x[:, torch.tensor([3, 0, 1, 2, 0, 1, 2, 3])]
            )
        ),
        [IMAGE],
        ("fp32",),
    ),
    "squeeze unsqueeze flatten": (
        Fn(lambda l, x: x.unsqueeze(0).squeeze(0).flatten(2).unsqueeze(-1).mean(-1)),
        [IMAGE],
        ("fp32",),
    ),
    "pad reflect replicate constant": (
        Fn(
            lambda l, x: (
                F.pad(x, (1, 2, 0, 1), mode="reflect")[..., :13, :15]
                + F.pad(x, (2, 1, 1, 0), mode="replicate")[..., :13, :15]
                + F.pad(x, (1, 1, 1, 1), value=0.5)[..., 1:14, 1:16]
            )
        ),
        [IMAGE],
        ("fp32",),
    ),
    "tile + cumsum": (Fn(lambda l, x: x.repeat(1, 2, 1, 1).cumsum(2)), [IMAGE], ("fp32",)),
    "upsample nearest": (only(nn.Upsample(scale_factor=2, mode="nearest")), [IMAGE], ("fp32",)),
    "upsample bilinear": (only(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)), [IMAGE], ("fp32",)),
    "upsample bilinear aligned": (
        only(nn.Upsample(size=(20, 31), mode="bilinear", align_corners=True)),
        [IMAGE],
        ("fp32",),
    ),
    "pixel_shuffle": (only(nn.PixelShuffle(2)), [(1, 8, 5, 6)], ("fp32",)),
    "lstm": (Fn(lambda l, x: l[0](x)[0], nn.LSTM(6, 5, batch_first=True)), [(1, 7, 6)], ("fp32",)),
    "lstm bidirectional": (Fn(lambda l, x: l[0](x)[0], nn.LSTM(6, 5, bidirectional=True)), [(7, 1, 6)], ("fp32",)),
    "gru (a while_loop)": (Fn(lambda l, x: l[0](x)[0], nn.GRU(6, 5, batch_first=True)), [(1, 7, 6)], ("fp32",)),
    "clip + clamp": (Fn(lambda l, x: torch.clamp(x, -0.5, 0.7) + torch.clamp(x, min=0.1)), [IMAGE], ("fp32",)),
}


def compare(got: np.ndarray, want: np.ndarray, precision: str) -> str | None:
    if got.shape != want.shape:
        return f"shape {got.shape}, torch's {want.shape}"
    error = float(np.max(np.abs(got - want))) if want.size else 0.0
    if precision == "fp32":
        limit = 1e-4 * max(1.0, float(np.max(np.abs(want))))
        return None if error <= limit else f"max abs error {error:.3g} > {limit:.3g}"
    a, b = got.reshape(-1).astype(np.float64), want.reshape(-1).astype(np.float64)
    cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))
    return None if cosine >= 0.999 else f"cosine {cosine:.6f} < 0.999"


def convert(module, arrays, precision: str, path: Path) -> Path:
    module.eval()
    with torch.no_grad():
        script = torch.jit.trace(module, tuple(torch.from_numpy(a) for a in arrays))
    inputs = [ct.TensorType(name=f"in{i}", shape=a.shape) for i, a in enumerate(arrays)]
    model = ct.convert(
        script,
        inputs=inputs,
        convert_to="mlprogram",
        skip_model_load=True,
        compute_precision=ct.precision.FLOAT32 if precision == "fp32" else ct.precision.FLOAT16,
    )
    model.save(str(path))
    return path


failures, covered = [], set()
rng = np.random.default_rng(0)
for name, (module, shapes, precisions) in CASES.items():
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    with torch.no_grad():
        want = module.eval()(*[torch.from_numpy(a) for a in arrays])
    want = [t.numpy() for t in (want if isinstance(want, (tuple, list)) else [want])]
    for precision in precisions:
        try:
            program = Program(convert(module, arrays, precision, work / f"{len(covered)}-{precision}.mlpackage"))
            got = program.run({f"in{i}": a for i, a in enumerate(arrays)})
        except Exception as exc:  # noqa: BLE001 - report every case
            failures.append(f"{name} ({precision}): {type(exc).__name__}: {exc}")
            continue
        covered.update(op for op in program.op_types() if op != "const")
        for output, (got_name, value) in zip(want, got.items(), strict=True):
            problem = compare(value, output, precision)
            if problem:
                failures.append(f"{name} ({precision}) {got_name}: {problem}")

# The blob reader reads what coremltools' own reader reads.
from coremltools.libmilstoragepython import _BlobStorageReader  # noqa: E402

program = Program(work / "0-fp32.mlpackage")
weights = next(iter(program._root.glob("weights/*.bin")))
theirs, ours, checked = _BlobStorageReader(str(weights)), BlobFile(weights), 0
for op in program.block.operations:
    value = op.attributes["val"] if op.type == "const" else None
    if value is not None and value.WhichOneof("value") == "blobFileValue":
        offset = value.blobFileValue.offset
        if not np.array_equal(ours.read(offset), np.asarray(theirs.read_float_data(offset))):
            failures.append(f"blob at offset {offset} differs from libmilstoragepython's")
        checked += 1
if not checked:
    failures.append("no blob was checked")

# An op the interpreter does not know is refused, naming it and what it makes.
from coremltools.converters.mil.mil import Builder as mb  # noqa: E402


@mb.program(input_specs=[mb.TensorSpec(shape=(1, 4, 8, 8))])
def unknown(x):
    y = mb.relu(x=x, name="before")
    return mb.space_to_batch(x=y, block_shape=[2, 2], paddings=[[0, 0], [0, 0]], name="moved")


ct.convert(unknown, convert_to="mlprogram", skip_model_load=True, compute_precision=ct.precision.FLOAT32).save(
    str(work / "unknown.mlpackage")
)
try:
    Program(work / "unknown.mlpackage").run({"x": np.ones((1, 4, 8, 8), np.float32)})
    failures.append("a program with space_to_batch ran")
except Unsupported as exc:
    if "space_to_batch" not in str(exc) or "'moved'" not in str(exc):
        failures.append(f"the refusal does not name the op and its value: {exc}")
    print("refused:", exc)

print(f"{len(CASES)} cases, MIL ops covered: {', '.join(sorted(covered))}")
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print("all agree")
