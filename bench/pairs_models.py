"""bench/pairs: the MobileNetV2 files every source reads, and the builders that make them.

Each builder (bench/models/make_<runtime>.py) runs in its own runtime and writes
MODELS/<runtime>/; a `.done` marker lets a later bench reuse them (--models DIR).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELFERRY = str(Path(sys.executable).parent / "modelferry")
DONE = ".done"


@dataclass(frozen=True)
class SourceModel:
    source: str  # a key of stages.catalog.SOURCES
    builder: str  # the runtime whose bench/models/make_<builder>.py writes it
    file: str  # under MODELS/<builder>/
    input_shapes: dict[str, list[int]] = field(default_factory=dict)  # what the file does not record
    needs: tuple[str, ...] = ()  # builders whose files this builder reads (they run first)

    def path(self, models: Path) -> Path:
        return models / self.builder / self.file


MODELS = (
    SourceModel("mxnet", "mxnet", "mobilenetv2-symbol.json", {"data": [1, 3, 224, 224]}),
    SourceModel("onnx", "tf", "mobilenetv2.onnx"),
    SourceModel("keras", "tf", "mobilenetv2.keras"),
    SourceModel("savedmodel", "tf", "mobilenetv2_savedmodel"),
    SourceModel("graphdef", "tf", "mobilenetv2.pb"),
    SourceModel("tf-checkpoint", "tf", "mobilenetv2_ckpt"),
    SourceModel("tfjs", "tfjs", "mobilenetv2/model.json", needs=("tf",)),
    SourceModel("tfjs-layers", "tfjs", "mobilenetv2_layers/model.json", needs=("tf",)),
    SourceModel("tflite", "tf", "mobilenetv2.tflite"),
    SourceModel("torchscript", "torch", "mobilenetv2.pt", {"image": [1, 3, 224, 224]}),
    SourceModel("torch-export", "torch", "mobilenetv2.pt2"),
    SourceModel("caffe", "caffe", "mobilenetv2.prototxt"),
)
# Builders whose runtime exists only as a container image (they run in it, their folder mounted read-write).
CONTAINED = {"caffe"}
BY_SOURCE = {model.source: model for model in MODELS}


def builders(sources) -> set[str]:
    """The builders that make the sources' files, and those they read from."""
    return {name for source in sources for name in (BY_SOURCE[source].builder, *BY_SOURCE[source].needs)}


def torch_stages_present() -> bool:
    return (REPO / "stages" / "torch").is_dir()


def build(models: Path, builders: set[str], env: dict[str, str]) -> float:
    """Run each builder that has not finished yet, in its runtime (a venv: it only makes files; the image for
    a runtime that has no venv). Returns the seconds spent building."""
    started, built = time.monotonic(), False
    for builder in sorted(builders):
        out = models / builder
        if (out / DONE).is_file():
            print(f"models: reusing {out}", file=sys.stderr)
            continue
        print(f"models: building {out} in the {builder} runtime", file=sys.stderr)
        built = True
        where = ["--runtime", "docker", "--writable", str(out)] if builder in CONTAINED else ["--runtime", "venv"]
        done = subprocess.run(
            [
                MODELFERRY,
                "runtime",
                "exec",
                *where,
                builder,
                "--",
                "python",
                str(Path("bench") / "models" / f"make_{builder}.py"),
                str(out),
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(
                f"bench/models/make_{builder}.py failed in the {builder} runtime "
                f"(exit {done.returncode}); its log tail is above"
            )
        (out / DONE).write_text(done.stdout)
        print(f"models: {done.stdout.strip().splitlines()[-1]}", file=sys.stderr)
    return time.monotonic() - started if built else 0.0
