"""Read, run and write MXNet checkpoints with errors in the user's words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mxnet as mx
import numpy as np

from stages.errors import StageError

SYMBOL_KEYS = ("nodes", "arg_nodes", "heads")


def read_symbol_json(path: Path) -> dict:
    try:
        graph = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StageError(f"{path.name} is not an MXNet symbol: not JSON ({exc})") from None
    missing = [key for key in SYMBOL_KEYS if not isinstance(graph, dict) or key not in graph]
    if missing:
        raise StageError(f"{path.name} is not an MXNet symbol: it has no {', '.join(missing)}")
    return graph


def symbol_from_json(graph: dict, path: Path) -> mx.sym.Symbol:
    try:
        return mx.sym.load_json(json.dumps(graph))
    except mx.base.MXNetError as exc:
        raise StageError(f"{path.name} is not a loadable MXNet symbol: {_first_line(exc)}") from None


def read_params(path: Path) -> tuple[dict, dict]:
    if not path.is_file():
        raise StageError(f"{path.name} is missing")
    try:
        loaded = mx.nd.load(str(path))
    except mx.base.MXNetError as exc:
        raise StageError(
            f"{path.name} cannot be read (truncated or not an MXNet .params file): {_first_line(exc)}"
        ) from None
    if not isinstance(loaded, dict):
        raise StageError(f"{path.name} holds a list of arrays, not named parameters")
    arg, aux = {}, {}
    for key, value in loaded.items():
        kind, _, name = key.partition(":")
        if kind == "arg":
            arg[name] = value
        elif kind == "aux":
            aux[name] = value
        else:  # gluon's save_parameters format: names without arg:/aux:
            arg[key] = value
    return arg, aux


def write_checkpoint(out: Path, graph: dict, arg: dict, aux: dict, prefix: str = "model") -> dict[str, str]:
    symbol_name, params_name = f"{prefix}-symbol.json", f"{prefix}-0000.params"
    (out / symbol_name).write_text(json.dumps(graph, indent=2))
    mx.nd.save(
        str(out / params_name), {**{f"arg:{k}": v for k, v in arg.items()}, **{f"aux:{k}": v for k, v in aux.items()}}
    )
    return {"symbol": symbol_name, "params": params_name}


def data_names(symbol: mx.sym.Symbol, arg: dict, aux: dict) -> list[str]:
    """Arguments that are not parameters and not training labels: the model's inputs."""
    return [
        name for name in symbol.list_arguments() if name not in arg and name not in aux and not name.endswith("_label")
    ]


def run(symbol: mx.sym.Symbol, arg: dict, aux: dict, feeds: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    """Forward pass in inference mode; outputs keyed by MXNet output name."""
    shapes = {name: value.shape for name, value in feeds.items()}
    try:
        executor = symbol.simple_bind(mx.cpu(), grad_req="null", **shapes)
    except (mx.base.MXNetError, RuntimeError) as exc:  # simple_bind wraps shape errors in RuntimeError
        described = ", ".join(f"{k}:N,{','.join(map(str, v[1:]))}" for k, v in shapes.items())
        raise StageError(f"input shape {described} does not fit {where}: {_first_line(exc)}") from None
    for name, array in executor.arg_dict.items():
        if name in feeds:
            array[:] = feeds[name]
        elif name in arg:
            _assign(array, arg[name], name, where)
        else:
            raise StageError(f"{where} has no value for parameter {name!r}")
    for name, array in executor.aux_dict.items():
        if name not in aux:
            raise StageError(f"{where} has no value for auxiliary state {name!r}")
        _assign(array, aux[name], name, where)
    try:
        outputs = executor.forward(is_train=False)
        return {name: out.asnumpy() for name, out in zip(symbol.list_outputs(), outputs, strict=True)}
    except mx.base.MXNetError as exc:
        raise StageError(f"{where} failed to run: {_first_line(exc)}") from None


def _assign(target, value, name: str, where: str) -> None:
    if target.shape != value.shape:
        raise StageError(f"{where}: parameter {name!r} has shape {value.shape}, the graph needs {target.shape}")
    target[:] = value


SOURCE_LOCATION = re.compile(r"\[\d\d:\d\d:\d\d\] \S+:\d+: ")  # "[01:49:05] ../src/x.cc:202: "


def _first_line(exc: Exception) -> str:
    lines = [SOURCE_LOCATION.sub("", line).strip() for line in str(exc).splitlines() if line.strip()]
    # MXNet puts the useful part after a stack trace; take the last "Error" line.
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if "Error" in line or "error" in line or "Check failed" in line:
            if line.endswith(":") and index + 1 < len(lines):  # "… for the following arguments …:" + the list
                line = f"{line} {lines[index + 1]}"
            return line[:300]
    return (lines[0] if lines else type(exc).__name__)[:300]
