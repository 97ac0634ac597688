"""The convert command's options → the typed request; and a batch manifest's entry → those options.

A manifest's keys are the command's long options with underscores (`input_shape`, `quantize`), so an
entry is turned into the command line it stands for and parsed by the very same command: a manifest
means what the CLI means, option for option.
"""
from __future__ import annotations

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
from stages import catalog
from stages.options import Option

# Options given as `name:value` / `name=value`, repeated: a manifest may write them as a mapping.
PAIRED = {"input_shape": ":", "input_range": ":", "bind": "=",
          **{d.option.name: d.option.pair_separator for d in catalog.OPTIONS if d.option.kind == "pairs"}}


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
        raise OptionsError([f"--labels {path}: give one 1-D integer array (or one named 'labels'), a class per "
                            f"sample"])
    return [int(v) for v in array]


def framework_options(p: dict) -> dict:
    """The frameworks' own options (stages/<fw>/registry.py) among the command's parameters, typed."""
    declared: list[Option] = [d.option for d in catalog.OPTIONS]
    return {o.name: FROM_COMMAND_LINE[o.kind](p[o.name], o) for o in declared if o.name in p}


def request_from_options(p: dict) -> ConvertRequest:
    """The convert command's parameters (by their Python names) as a ConvertRequest; ValueError when wrong."""
    try:
        return ConvertRequest(
            source=p["source"], name=p["name"], targets=split(p["to"]), quantize=split(p["quantize"]),
            calibration=p["calibration"], samples=p["samples"],
            input_shapes=dict(parse_input_shape(s) for s in p["input_shape"]),
            input_ranges=dict(parse_input_range(r) for r in p["input_range"]),
            normalize=Normalize(mean=parse_floats(p["mean"], "--mean"), std=parse_floats(p["std"], "--std"),
                                channel_order=p["channel_order"]),
            bind=dict(parse_bind(b) for b in p["bind"]),
            options=framework_options(p),   # type: ignore[arg-type]  # pydantic makes the model of the dict
            out=p["out"], s3_endpoint_url=p["s3_endpoint_url"],
            runtime=p["runtime"], stage_memory=p["stage_memory"], stage_cpus=p["stage_cpus"], jobs=p["jobs"],
            stage_timeout_s=p["stage_timeout"], fallback=p["fallback"], via=split(p["via"]), profile_runs=p["profile"],
            task=p["task"], labels=read_labels(p["labels"]),
            gates=Gates(fp32_max_abs=p["gate_fp32_max_abs"], fp16_cosine=p["gate_fp16_cosine"],
                        int8_cosine=p["gate_int8_cosine"], fp16_max_abs=p["gate_fp16_max_abs"],
                        int8_max_abs=p["gate_int8_max_abs"]))
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
        return "[]" if not value else ",".join(_text(v) for v in value)
    return str(value)


def entry_argv(entry: dict, command) -> list[str]:
    """A manifest entry as the convert command's arguments: `{to: [onnx, tflite], input_shape: {data: [1,
    3, 112, 112]}}` → `--to onnx,tflite --input-shape data:1,3,112,112`. ValueError for a key that is not
    one of the command's options."""
    options = {param.name: param for param in command.params if param.param_type_name == "option"}
    by_key = {opt.lstrip("-").replace("-", "_"): param for param in options.values() for opt in param.opts}
    argv = []
    for key, value in entry.items():
        param = by_key.get(key)
        if param is None or key in ("plan", "verbose", "help"):
            known = ", ".join(sorted(k for k in by_key if k not in ("plan", "verbose", "help", "v", "j")))
            raise ValueError(f"unknown key {key!r}; the keys are convert's long options with underscores: {known}")
        flag = next(opt for opt in param.opts if opt.lstrip("-").replace("-", "_") == key)
        if param.is_flag:
            if value is True:
                argv.append(flag)
            elif value is False and param.secondary_opts:
                argv.append(param.secondary_opts[0])
            elif not isinstance(value, bool):
                raise ValueError(f"{key}: true or false, not {value!r}")
            continue
        if value is None or value == []:   # `quantize: []` overrides a default with the option's own default
            continue
        if key in PAIRED and isinstance(value, dict):
            value = [f"{name}{PAIRED[key]}{_text(v)}" for name, v in value.items()]
        if param.multiple:
            for item in value if isinstance(value, list) else [value]:
                argv += [flag, _text(item)]
        else:
            argv += [flag, _text(value)]
    return argv
