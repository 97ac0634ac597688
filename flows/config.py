"""The typed request behind `modelferry convert`."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from stages import catalog
from stages.options import KINDS
from stages.validate.gates import Gates as _Rules

DEFAULT_GATES = _Rules()


class Gates(BaseModel):
    """The parity gates. Their defaults and how each is applied live in one place, the validate stage's
    stages/validate/compare.py; this is the request's typed copy of the values."""

    fp32_max_abs: float = DEFAULT_GATES.fp32_max_abs
    fp16_cosine: float = DEFAULT_GATES.fp16_cosine
    int8_cosine: float = DEFAULT_GATES.int8_cosine
    fp16_max_abs: float = DEFAULT_GATES.fp16_max_abs
    int8_max_abs: float = DEFAULT_GATES.int8_max_abs


class Normalize(BaseModel):
    """What the model expects of its image input: (pixel - mean) / std, pixels 0-255 in `channel_order`."""

    mean: list[float] = Field(default_factory=list)
    std: list[float] = Field(default_factory=list)
    channel_order: str = "rgb"

    @field_validator("channel_order")
    @classmethod
    def _order(cls, order: str) -> str:
        if order not in ("rgb", "bgr"):
            raise ValueError(f"--channel-order {order!r}: choose rgb or bgr")
        return order

    @field_validator("std")
    @classmethod
    def _nonzero(cls, std: list[float]) -> list[float]:
        if any(v == 0 for v in std):
            raise ValueError("--std values must not be 0")
        return std

    def given(self) -> bool:
        return bool(self.mean or self.std or self.channel_order != "rgb")


def _framework_options() -> type[BaseModel]:
    """The frameworks' own options (`OPTIONS` in stages/<fw>/registry.py) as one typed model."""
    fields: dict[str, Any] = {
        d.option.name: (KINDS[d.option.kind].python, Field(default_factory=lambda o=d.option: o.initial))
        for d in catalog.OPTIONS
    }
    return create_model("FrameworkOptions", __config__=ConfigDict(extra="forbid"), **fields)


if TYPE_CHECKING:  # its fields are the registries', known when the model is made: any name, any value here

    class FrameworkOptions(BaseModel):
        def __getattr__(self, name: str) -> Any: ...
else:
    FrameworkOptions = _framework_options()
TASKS = ("classify", "embed", "segment", "detect")  # --task: stages/validate/task.py measures each
PROFILE_RUNS = 50  # at most: the runs also stop after stages/validate/latency.py's budget (1 s)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class ConvertRequest(BaseModel):
    source: Path
    name: str | None = None  # the model's name in the store (default: told by the source's file name)
    origin: str | None = None  # where the source came from (s3://…, models:/…); default: its absolute path
    targets: list[str] = Field(default_factory=lambda: ["onnx", "tflite"])
    quantize: list[str] = Field(default_factory=list)
    calibration: Path | None = None
    samples: Path | None = None
    input_shapes: dict[str, list[int]] = Field(default_factory=dict)
    input_ranges: dict[str, list[float]] = Field(default_factory=dict)  # name -> [lo, hi]
    normalize: Normalize = Field(default_factory=Normalize)
    bind: dict[str, float | int | bool | list[float | int | bool]] = Field(default_factory=dict)  # name -> constant
    options: FrameworkOptions = Field(default_factory=FrameworkOptions)  # each framework's own (--epoch, --opset …)
    out: str = "./artifacts"
    s3_endpoint_url: str | None = None
    runtime: str = "auto"
    stage_memory: str | None = None  # docker: memory limit per stage container, e.g. "4g"
    stage_cpus: float | None = Field(default=None, gt=0)  # cores per stage (default: cores / jobs)
    jobs: int | None = Field(default=None, ge=1)  # stages at once (default: one per core)
    stage_timeout_s: float = 1800.0
    fallback: bool = True  # try the next route when a converter fails or misses its gate
    via: list[str] = Field(default_factory=list)  # keep only routes through these converters (emit/export impls)
    gates: Gates = Field(default_factory=Gates)
    profile_runs: int = Field(default=PROFILE_RUNS, ge=0)  # each artifact's timed runs in validation (0: none)
    task: str | None = None  # what the model does: agreement measured on it (stages/validate/task.py)
    labels: list[int] | None = None  # the --samples' true classes, in their order (classify)

    @model_validator(mode="before")
    @classmethod
    def _options_by_name(cls, data):
        """A framework's option may be given by its name beside the others (`epoch=0`), as a manifest says it."""
        if isinstance(data, dict) and any(d.option.name in data for d in catalog.OPTIONS):
            data = dict(data)
            named = {d.option.name: data.pop(d.option.name) for d in catalog.OPTIONS if d.option.name in data}
            data["options"] = {**dict(data.get("options") or {}), **named}
        return data

    @field_validator("targets")
    @classmethod
    def _known_targets(cls, targets: list[str]) -> list[str]:
        unknown = [t for t in targets if t not in catalog.TARGETS]
        if unknown or not targets:
            raise ValueError(f"unknown target(s) {unknown}; choose from {', '.join(catalog.TARGETS)}")
        return list(dict.fromkeys(targets))

    @field_validator("quantize")
    @classmethod
    def _known_modes(cls, modes: list[str]) -> list[str]:
        unknown = [m for m in modes if m not in catalog.QUANTIZE_MODES]
        if unknown:
            raise ValueError(f"unknown quantization mode(s) {unknown}; choose from {', '.join(catalog.QUANTIZE_MODES)}")
        return list(dict.fromkeys(modes))

    @field_validator("name")
    @classmethod
    def _store_name(cls, name: str | None) -> str | None:
        if name is not None and not NAME.match(name):
            raise ValueError(f"--name {name!r}: use letters, digits, '.', '_' and '-' (a key in the store)")
        return name

    @field_validator("via")
    @classmethod
    def _known_converters(cls, via: list[str]) -> list[str]:
        known = [i.name for i in catalog.IMPLS if i.stage in ("export", "emit")]
        unknown = [v for v in via if v not in known]
        if unknown:
            raise ValueError(f"--via {','.join(unknown)}: not a converter; choose from {', '.join(known)}")
        return via

    @field_validator("runtime")
    @classmethod
    def _known_runtime(cls, runtime: str) -> str:
        if runtime not in ("auto", "docker", "venv"):
            raise ValueError(f"--runtime {runtime!r}: choose auto, docker or venv")
        return runtime

    @model_validator(mode="after")
    def _consistent(self) -> "ConvertRequest":
        offered = {mode for target in self.targets for mode in catalog.quantize_modes(target)}
        for mode in self.quantize:
            if mode not in offered:
                makers = [t for t in catalog.TARGETS if mode in catalog.quantize_modes(t)]
                raise ValueError(
                    f"--quantize {mode} applies to {' and '.join(makers)} targets: add {' or '.join(makers)} to --to"
                )
        if self.task is not None and self.task not in TASKS:
            raise ValueError(f"--task {self.task!r}: choose {', '.join(TASKS)}")
        if self.labels is not None and (self.task != "classify" or self.samples is None):
            raise ValueError(
                "--labels are the classes of your own --samples, in their order: they need "
                "--task classify and --samples"
            )
        if "int8" in self.quantize and self.calibration is None:
            raise ValueError(
                "int8 quantization needs calibration data: pass --calibration FILE.npz "
                "(arrays keyed by input name, shaped like the model's inputs)"
            )
        return self

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def parse_input_shape(text: str) -> tuple[str, list[int]]:
    """`data:1,3,112,112` -> ("data", [1, 3, 112, 112]); `sr:` is a scalar, `x:0,3` has no rows."""
    name, sep, dims = text.rpartition(":")
    try:
        shape = [int(d) for d in dims.split(",")] if dims.strip() else []
    except ValueError:
        shape = None
    if not sep or not name or shape is None or any(d < 0 for d in shape):
        raise ValueError(f"--input-shape {text!r} should look like data:1,3,112,112 (or sr: for a scalar)")
    return name, shape


def parse_input_range(text: str) -> tuple[str, list[float]]:
    """`image:0,1` -> ("image", [0.0, 1.0])."""
    name, sep, span = text.rpartition(":")
    wrong = ValueError(f"--input-range {text!r} should look like image:0,1 (name:low,high, low <= high)")
    try:
        lo, hi = (float(v) for v in span.split(","))
    except ValueError:
        raise wrong from None
    if not sep or not name or lo > hi:
        raise wrong
    return name, [lo, hi]


def _bound_value(value: str, text: str) -> float | int | bool:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"--bind {text!r}: the value must be a number or true/false") from None


def parse_bind(text: str) -> tuple[str, float | int | bool | list[float | int | bool]]:
    """`sr=16000` -> ("sr", 16000): a scalar forward() argument or input, fixed to a constant;
    `axes=2,3` or `axes=[2,3]` -> ("axes", [2, 3]): a 1-D ONNX input (its axes, sizes, pads) fixed to those
    values; `axes=[]`: an empty one (ReduceSum's "every axis")."""
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise ValueError(
            f"--bind {text!r} should look like sr=16000 (or axes=2,3 for a 1-D input, axes=[] for an empty one)"
        )
    listed = value.startswith("[") and value.endswith("]")
    if listed or "," in value:
        return name, [_bound_value(v.strip(), text) for v in value.strip("[]").split(",") if v.strip()]
    return name, _bound_value(value, text)


def parse_floats(text: str | None, flag: str) -> list[float]:
    try:
        return [float(v) for v in (text or "").split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{flag} {text!r} should be numbers, comma-separated (one, or one per channel)") from None


def parse_pair(text: str, flag: str, separator: str = "=") -> tuple[str, str]:
    """`--rename old=new` -> ("old", "new"); `--input-dtype x:0:int64` -> ("x:0", "int64") (a tensor's name may
    hold ':', as TF's do; what follows the last one never does)."""
    key, sep, value = text.rpartition(separator) if separator == ":" else text.partition(separator)
    if not sep or not key or not value:
        raise ValueError(f"{flag} {text!r} should look like key{separator}value")
    return key, value
