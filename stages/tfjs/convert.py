"""tensorflowjs_converter: a TF SavedModel signature -> a TFJS graph model directory.

It runs in the stage's own process (a fork of the warm tfjs runtime, which has TF and the converter
imported): as its own process it imported them again, 6 of the 9 s it took on MobileNetV2. Its options are
passed as a list, not through the console script, which joins and re-splits them on spaces; what it prints
goes to the stage's log.

The converter runs TF's grappler, which must not fuse the ops only oneDNN has (a Conv2D with
_FusedHardSwish, which no TFJS backend runs): the tfjs runtime runs TF with oneDNN's rewrites off
(stages/__main__.py), and this says so if a process has them on.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import traceback
from pathlib import Path

from stages.errors import StageError
from stages.tfjs.graph import read_model_json


def _reason(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def convert(saved_model: Path, out: Path, signature: str, flags: list[str], name: str) -> None:
    """Write model.json and its weight shards for `signature` of `saved_model` into `out`."""
    from tensorflow.python.util import _pywrap_util_port
    from tensorflowjs.converters.converter import convert as tensorflowjs_converter

    if _pywrap_util_port.IsMklEnabled():
        raise StageError(
            f"{name}: TF runs with oneDNN's graph rewrites on in this process (TF_ENABLE_ONEDNN_OPTS), whose fused "
            f"ops no TFJS backend runs; the tfjs runtime turns them off (stages/__main__.py)"
        )
    argv = [
        "--input_format=tf_saved_model",
        "--output_format=tfjs_graph_model",
        f"--signature_name={signature}",
        *flags,
        str(saved_model),
        str(out),
    ]
    try:
        with contextlib.redirect_stdout(sys.stderr):
            tensorflowjs_converter(argv)
    except SystemExit as exc:  # its argument parser
        raise StageError(f"{name} tensorflowjs_converter refused its arguments (exit {exc.code})") from None
    except Exception as exc:  # the converter raises whatever TF raises
        traceback.print_exc()
        raise StageError(f"{name} tensorflowjs_converter failed: {type(exc).__name__}: {_reason(exc)}") from None
    if not (out / "model.json").is_file():
        raise StageError(f"{name} tensorflowjs_converter wrote no model.json")
    restore_output_keys(saved_model, out, signature)
    narrow_int64(out)


# TFJS has no int64: @tensorflow/tfjs computes DT_INT64 tensors as int32. The artifact says so itself.
NARROWED = {"DT_INT64": "DT_INT32", "DT_UINT64": "DT_INT32"}


def narrow_int64(out: Path) -> list[str]:
    """Rewrite model.json's int64 signature tensors and placeholders as int32, the dtype TFJS really takes and
    returns (token ids past 2^31 do not exist in practice); returns the keys rewritten."""
    path = out / "model.json"
    model = json.loads(path.read_text())
    holder = model if "signature" in model else model.get("userDefinedMetadata", {})
    narrowed = []
    for group in ("inputs", "outputs"):
        for key, info in holder.get("signature", {}).get(group, {}).items():
            if info.get("dtype") in NARROWED:
                info["dtype"] = NARROWED[info["dtype"]]
                narrowed.append(key)
    for node in model.get("modelTopology", {}).get("node", []):
        dtype = node.get("attr", {}).get("dtype", {})
        if node.get("op") == "Placeholder" and dtype.get("type") in NARROWED:
            dtype["type"] = NARROWED[dtype["type"]]
    if narrowed:
        path.write_text(json.dumps(model))
    return narrowed


FROZEN_OUTPUT = re.compile(r"^Identity(?:_(\d+))?:0$")


def restore_output_keys(saved_model: Path, out: Path, signature: str) -> None:
    """Put back the signature's output keys where tensorflowjs_converter lost them.

    With several outputs the converter keeps some keys and writes others as the frozen graph's tensor
    names (seen: `contour`, `Identity_1:0`, `Identity_2:0` for contour, note, onset). The frozen graph's
    outputs are `Identity`, `Identity_1`… in the order TF flattens the signature's outputs (sorted by
    key), so `Identity_k:0` is the k-th key. The map is used only where every kept key agrees with it."""
    import tensorflow as tf

    path = out / "model.json"
    model = json.loads(path.read_text())
    holder = model if "signature" in model else model.get("userDefinedMetadata", {})
    outputs = holder.get("signature", {}).get("outputs", {})
    keys = sorted(tf.saved_model.load(str(saved_model)).signatures[signature].structured_outputs)
    lost = {key for key in outputs if key not in keys}
    if not lost:
        return
    order = {}
    for key, info in outputs.items():
        found = FROZEN_OUTPUT.match(info.get("name", ""))
        if found is None:
            return  # not the converter's usual graph: leave the names as they are (matching will refuse)
        order[key] = int(found.group(1) or 0)
    if len(keys) != len(outputs) or any(
        order[key] >= len(keys) or keys[order[key]] != key for key in outputs if key not in lost
    ):
        return
    holder["signature"]["outputs"] = {(keys[order[key]] if key in lost else key): info for key, info in outputs.items()}
    path.write_text(json.dumps(model))


def _match(keys: list[str], specs: list[dict], what: str, where: str) -> list[dict]:
    """Each manifest tensor with the graph model's signature key as its name, matched by name
    (the converter keeps the SavedModel signature's keys); a lone tensor needs no name."""
    if len(keys) != len(specs):
        raise StageError(f"{where} has {what}s {keys}, the source has {[s['source_name'] for s in specs]}")
    if len(keys) == 1:
        return [{**specs[0], "name": keys[0]}]
    matched = []
    for spec in specs:
        # the converter may key a tensor by its TF name ("input_ids:0"): the same name, at output index 0
        names = (spec["name"], spec["source_name"])
        found = next((c for c in (*names, *(f"{n}:0" for n in names)) if c in keys), None)
        if found is None:
            raise StageError(
                f"{where}: no {what} is named {spec['source_name']!r} (it has {keys}); the names "
                f"were lost, and modelferry does not pair {what}s by position"
            )
        matched.append({**spec, "name": found})
    return matched


def _typed(specs: list[dict], tensors: dict) -> list[dict]:
    """Each spec with the dtype the graph model takes or returns, and the source's where TFJS narrowed it."""
    typed = []
    for spec in specs:
        dtype = tensors[spec["name"]].dtype
        if dtype != spec["dtype"] and spec["dtype"] in ("int64", "uint64"):
            spec = {
                **spec,
                "dtype": dtype,
                "source_dtype": spec["dtype"],
                "note": f"TFJS has no {spec['dtype']}: the model takes and returns {dtype}",
            }
        typed.append(spec)
    return typed


def describe(model_dir: Path, inputs: list[dict], outputs: list[dict]) -> tuple[list[dict], list[dict]]:
    """The manifest's inputs and outputs named and typed as model.json's signature names and types them."""
    model = read_model_json(model_dir)
    where = f"{model_dir.name}/model.json"
    return (
        _typed(_match(list(model.inputs), inputs, "input", where), model.inputs),
        _typed(_match(list(model.outputs), outputs, "output", where), model.outputs),
    )


def size(model_dir: Path) -> int:
    return sum(path.stat().st_size for path in model_dir.iterdir() if path.is_file())
