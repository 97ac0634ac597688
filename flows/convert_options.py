"""The convert command's own options, declared once.

One row gives `modelferry convert` its flag (in its --help panel), a batch manifest and a hook rule their
key (the option's name), and `inspect` its default. The frameworks' own options are declared beside their
registry rows (stages/<fw>/registry.py) and read the same way (`framework_default`). The CLI builds its
command from these rows; a manifest entry is read by them (flows/options.py), never through the CLI.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from flows.config import DEFAULT_GATES, PROFILE_RUNS, TASKS
from stages import catalog
from stages.options import Option

# A row's kind -> the Python type the command line gives it (typer reads it from the signature)
CLI_TYPES: dict[str, object] = {"text": str, "float": float, "int": int, "path": Path, "list": List[str], "flag": bool}
# A framework option's kind -> the command line's type and its value when not given
FRAMEWORK_CLI: dict[str, tuple[object, object]] = {
    "flag": (bool, False),
    "text": (Optional[str], None),
    "int": (Optional[int], None),
    "names": (Optional[str], None),
    "pairs": (List[str], []),
}


@dataclass(frozen=True)
class Flag:
    """`name`: the Python parameter and the manifest key; `flags`: the command line's (default:
    --name-with-dashes, and --no-name for a flag); `manifest`: False for what only a terminal means."""

    name: str
    kind: str
    default: object
    help: str
    panel: str
    flags: tuple[str, ...] = ()
    envvar: str | None = None
    manifest: bool = True

    @property
    def cli_flags(self) -> tuple[str, ...]:
        dashed = "--" + self.name.replace("_", "-")
        if self.flags:
            return self.flags
        return (f"{dashed}/--no-{dashed[2:]}",) if self.kind == "flag" else (dashed,)

    @property
    def long_flag(self) -> str:
        return self.cli_flags[0].split("/")[0]

    @property
    def annotation(self) -> object:
        python = CLI_TYPES[self.kind]
        return python if self.default is not None or self.kind in ("list", "flag") else Optional[python]


TARGETS, INPUTS, STORE, GATES, RUNTIME = (
    "Targets and routes",
    "Inputs and samples",
    "Where it is published",
    "Gates, task and profiling",
    "Runtime and resources",
)
PANELS = (TARGETS, INPUTS, STORE, GATES, RUNTIME)


def _quantize_help() -> str:
    return (
        "Quantized variants, comma-separated: "
        + "; ".join(
            f"{t}: {', '.join(catalog.quantize_modes(t))}" for t in catalog.TARGETS if catalog.quantize_modes(t)
        )
        + "."
    )


CONVERT_OPTIONS: tuple[Flag, ...] = (
    Flag("to", "text", "onnx,tflite", f"Targets, comma-separated: {', '.join(catalog.TARGETS)}.", TARGETS),
    Flag("quantize", "text", None, _quantize_help(), TARGETS),
    Flag(
        "fallback",
        "flag",
        True,
        "When a converter fails or its artifact misses the gate, try the next route to "
        "that target (--plan lists them).",
        TARGETS,
    ),
    Flag(
        "via",
        "text",
        None,
        "Only routes through these converters, comma-separated (e.g. onnx-tf, onnx-tfops), "
        "for the targets such a route reaches.",
        TARGETS,
    ),
    Flag(
        "show_plan",
        "flag",
        False,
        "Print the DAG of stages this would run, and stop.",
        TARGETS,
        ("--plan",),
        manifest=False,
    ),
    Flag(
        "samples",
        "path",
        None,
        ".npz keyed by input name (one array for a one-input model), or a folder of "
        "pictures (jpg, png): reference inputs for validation.",
        INPUTS,
    ),
    Flag(
        "calibration", "path", None, ".npz keyed by input name, or a folder of pictures: int8 calibration data.", INPUTS
    ),
    Flag("input_shape", "list", [], "name:1,3,112,112 (repeat per input; sr: for a scalar).", INPUTS),
    Flag(
        "input_range",
        "list",
        [],
        "name:low,high: the values an input takes, for the samples modelferry makes (repeat per input).",
        INPUTS,
    ),
    Flag(
        "mean",
        "text",
        None,
        "Image inputs: per-channel mean in 0-255 pixel units, e.g. 123.675,116.28,103.53 "
        "(input = (pixel - mean) / std).",
        INPUTS,
    ),
    Flag("std", "text", None, "Image inputs: per-channel std in 0-255 pixel units, e.g. 58.395,57.12,57.375.", INPUTS),
    Flag("channel_order", "text", "rgb", "Image inputs: rgb or bgr.", INPUTS),
    Flag(
        "bind",
        "list",
        [],
        "name=value: fix a scalar input or forward() argument to a constant (e.g. sr=16000; repeatable).",
        INPUTS,
    ),
    Flag("out", "text", "./artifacts", "Local directory or s3://bucket/prefix.", STORE),
    Flag(
        "name",
        "text",
        None,
        "The model's name in the store, OUT/NAME/ (default: the source's file name, or its "
        "folder's where that is generic: face/model-symbol.json is face).",
        STORE,
    ),
    Flag(
        "s3_endpoint_url",
        "text",
        None,
        "S3-compatible endpoint (MinIO, …).",
        STORE,
        envvar="MODELFERRY_S3_ENDPOINT_URL",
    ),
    Flag(
        "gate_fp32_max_abs",
        "float",
        DEFAULT_GATES.fp32_max_abs,
        "fp32 gate: max abs error <= this x max(1, max|golden|).",
        GATES,
    ),
    Flag("gate_fp16_cosine", "float", DEFAULT_GATES.fp16_cosine, "fp16 gate: cosine similarity >= this.", GATES),
    Flag(
        "gate_fp16_max_abs",
        "float",
        DEFAULT_GATES.fp16_max_abs,
        "fp16 also passes with max abs error <= this x max(1, max|golden|) (a cosine means nothing on outputs near 0).",
        GATES,
    ),
    Flag(
        "gate_int8_cosine",
        "float",
        DEFAULT_GATES.int8_cosine,
        "int8 and dynamic-range gate: cosine similarity >= this.",
        GATES,
    ),
    Flag(
        "gate_int8_max_abs",
        "float",
        DEFAULT_GATES.int8_max_abs,
        "int8 and dynamic-range also pass with max abs error <= this x max(1, max|golden|).",
        GATES,
    ),
    Flag(
        "task",
        "text",
        None,
        f"What the model does ({', '.join(TASKS)}): each artifact's agreement with the "
        "source on it (top-1 and top-5; the embeddings' cosine; the masks' IoU; a YOLO-style detector's boxes "
        "matched by IoU).",
        GATES,
    ),
    Flag(
        "labels",
        "path",
        None,
        ".npz: the class of each of your --samples, in their order (a folder's pictures "
        "by file name), with --task classify: the source's accuracy and each artifact's.",
        GATES,
    ),
    Flag(
        "profile",
        "int",
        PROFILE_RUNS,
        "Timed runs of one sample through each artifact, in its runtime on this "
        "CPU, after a warm-up (at most 1 s of them; 0: none): median and p90 latency, and the peak memory of "
        "its process.",
        GATES,
    ),
    Flag("runtime", "text", "auto", "auto (Docker where an engine answers, else venv) | docker | venv.", RUNTIME),
    Flag(
        "jobs",
        "int",
        None,
        "Stages run at once, one per independent branch of the DAG (default: one per core; 1 runs them one by one).",
        RUNTIME,
        ("--jobs", "-j"),
    ),
    Flag(
        "stage_cpus",
        "float",
        None,
        "CPU cores each stage runs on, pinned (default: the machine's cores / --jobs).",
        RUNTIME,
    ),
    Flag(
        "stage_memory",
        "text",
        None,
        "docker: memory limit of a stage's container (a runtime's warm container: its stages together), e.g. 4g "
        "(default 6g).",
        RUNTIME,
    ),
    Flag("stage_timeout", "float", 1800.0, "Seconds a stage may run.", RUNTIME),
    Flag("verbose", "flag", False, "Show Prefect's logs.", RUNTIME, ("--verbose", "-v"), manifest=False),
)
BY_NAME = {flag.name: flag for flag in CONVERT_OPTIONS}


def framework_default(option: Option) -> object:
    """A framework option's value when its flag is not given, as the command line has it."""
    return option.default if option.default is not None else FRAMEWORK_CLI[option.kind][1]


def defaults() -> dict:
    """Every option's value when not given (the source aside), by parameter name."""
    return copy.deepcopy(
        {
            **{flag.name: flag.default for flag in CONVERT_OPTIONS},
            **{d.option.name: framework_default(d.option) for d in catalog.OPTIONS},
        }
    )
