"""The convert command's options → the typed request; and a batch manifest's entry → those options.

A manifest's keys are the command's long options with underscores (`input_shape`, `quantize`): an entry
is read by the same rows the command is made of (flows/convert_options.py, and each framework's `OPTIONS`),
into the same parameters, then made the request by the same function. A manifest means what the CLI means,
option for option.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from flows.config import (
    ConvertRequest,
    Gates,
    Normalize,
    parse_bind,
    parse_floats,
    parse_input_range,
    parse_input_shape,
    parse_pair,
)
from flows.convert_options import CONVERT_OPTIONS, defaults
from stages import catalog
from stages.options import Option

# Options given as `name:value` / `name=value`, repeated: a manifest may write them as a mapping.
PAIRED = {
    "input_shape": ":",
    "input_range": ":",
    "bind": "=",
    **{d.option.name: d.option.pair_separator for d in catalog.OPTIONS if d.option.kind == "pairs"},
}


def split(values: str | None) -> list[str]:
    return [v.strip() for v in (values or "").split(",") if v.strip()]


# A framework option's command-line value (as the command parsed it) -> the request's typed value.
FROM_COMMAND_LINE = {
    "flag": lambda value, option: bool(value),
    "text": lambda value, option: value,
    "int": lambda value, option: value,
    "names": lambda value, option: split(value),
    "pairs": lambda value, option: dict(parse_pair(v, option.cli_flag, option.pair_separator) for v in value),
}


def read_labels(path) -> list[int] | None:
    """--labels FILE.npz: one integer array (or the array `labels`), a class per sample; as a list of ints."""
    if path is None:
        return None
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as exc:
        raise OptionsError([f"--labels {path}: not a readable .npz ({exc})"]) from None
    array = arrays.get("labels") if "labels" in arrays else (next(iter(arrays.values())) if len(arrays) == 1 else None)
    if array is None or array.ndim != 1 or array.dtype.kind not in "iu":
        raise OptionsError([f"--labels {path}: give one 1-D integer array (or one named 'labels'), a class per sample"])
    return [int(v) for v in array]


def framework_options(p: dict) -> dict:
    """The frameworks' own options (stages/<fw>/registry.py) among the command's parameters, typed."""
    declared: list[Option] = [d.option for d in catalog.OPTIONS]
    return {o.name: FROM_COMMAND_LINE[o.kind](p[o.name], o) for o in declared if o.name in p}


def request_from_options(p: dict) -> ConvertRequest:
    """The convert command's parameters (by their Python names) as a ConvertRequest; ValueError when wrong."""
    try:
        return ConvertRequest(
            source=p["source"],
            name=p["name"],
            targets=split(p["to"]),
            quantize=split(p["quantize"]),
            calibration=p["calibration"],
            samples=p["samples"],
            input_shapes=dict(parse_input_shape(s) for s in p["input_shape"]),
            input_ranges=dict(parse_input_range(r) for r in p["input_range"]),
            normalize=Normalize(
                mean=parse_floats(p["mean"], "--mean"),
                std=parse_floats(p["std"], "--std"),
                channel_order=p["channel_order"],
            ),
            bind=dict(parse_bind(b) for b in p["bind"]),
            options=framework_options(p),  # type: ignore[arg-type]  # pydantic makes the model of the dict
            out=p["out"],
            s3_endpoint_url=p["s3_endpoint_url"],
            runtime=p["runtime"],
            stage_memory=p["stage_memory"],
            stage_cpus=p["stage_cpus"],
            jobs=p["jobs"],
            stage_timeout_s=p["stage_timeout"],
            fallback=p["fallback"],
            via=split(p["via"]),
            profile_runs=p["profile"],
            task=p["task"],
            labels=read_labels(p["labels"]),
            gates=Gates(
                fp32_max_abs=p["gate_fp32_max_abs"],
                fp16_cosine=p["gate_fp16_cosine"],
                int8_cosine=p["gate_int8_cosine"],
                fp16_max_abs=p["gate_fp16_max_abs"],
                int8_max_abs=p["gate_int8_max_abs"],
            ),
        )
    except ValidationError as exc:
        raise OptionsError([e["msg"].removeprefix("Value error, ") for e in exc.errors()]) from None


class OptionsError(ValueError):
    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("; ".join(messages))


def error_messages(exc: ValueError) -> list[str]:
    return exc.messages if isinstance(exc, OptionsError) else [str(exc)]


def _text(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    return str(value)


def _number(kind: type, flag: str):
    what = "a number" if kind is float else "a whole number"

    def read(value):
        if isinstance(value, bool) or (kind is int and isinstance(value, float)):
            raise ValueError(f"{flag}: {value!r} is not {what}")
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"{flag}: {value!r} is not {what}") from None

    return read


def _flag(flag: str):
    def read(value):
        if not isinstance(value, bool):
            raise ValueError(f"{flag}: true or false, not {value!r}")
        return value

    return read


def _listed(separator: str | None):
    """A repeated option: a list, one value, or (`name: value` options) a mapping."""

    def read(value):
        if separator and isinstance(value, dict):
            return [f"{name}{separator}{_text(v)}" for name, v in value.items()]
        return [_text(item) for item in (value if isinstance(value, list) else [value])]

    return read


# A kind of the command's own options, or of a framework's -> how a manifest's value becomes the command
# line's (what typer would have made of the flag)
def _reader(kind: str, flag: str, key: str):
    return {
        "text": _text,
        "names": _text,
        "path": lambda value: Path(_text(value)),
        "float": _number(float, flag),
        "int": _number(int, flag),
        "flag": _flag(flag),
        "list": _listed(PAIRED.get(key)),
        "pairs": _listed(PAIRED.get(key)),
    }[kind]


def manifest_keys() -> dict[str, tuple[str, str]]:
    """Each key a manifest entry may have -> its kind and its flag."""
    return {
        **{f.name: (f.kind, f.long_flag) for f in CONVERT_OPTIONS if f.manifest},
        **{d.option.name: (d.option.kind, d.option.cli_flag) for d in catalog.OPTIONS},
    }


def entry_params(entry: dict) -> dict:
    """A manifest entry as the convert command's parameters: `{to: [onnx, tflite], input_shape: {data: [1,
    3, 112, 112]}}` is `--to onnx,tflite --input-shape data:1,3,112,112`. A key not given has the command's
    default (an option read from the environment, from it). ValueError for a key that is not one of the
    command's long options, or a value that option does not take."""
    keys = manifest_keys()
    params = defaults()
    params.update({f.name: os.environ[f.envvar] for f in CONVERT_OPTIONS if f.envvar and os.environ.get(f.envvar)})
    for key, value in entry.items():
        if key == "source":
            params["source"] = value
            continue
        if key not in keys:
            raise ValueError(
                f"unknown key {key!r}; the keys are convert's long options with underscores: {', '.join(sorted(keys))}"
            )
        if value is None or value == []:  # `quantize: []` overrides a default with the option's own default
            continue
        kind, flag = keys[key]
        params[key] = _reader(kind, flag, key)(value)
    return params
