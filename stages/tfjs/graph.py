"""What a TFJS graph model's model.json says: its signature and weight shards."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from stages.errors import StageError

MODEL_JSON = "model.json"
# TF DataType names in model.json's signature -> the dtypes @tensorflow/tfjs computes in.
DTYPES = {"DT_FLOAT": "float32", "DT_INT32": "int32", "DT_BOOL": "bool"}


@dataclass(frozen=True)
class TensorSpec:
    key: str  # the signature key: what GraphModel.execute takes and returns
    dtype: str
    shape: list[int] | None


@dataclass(frozen=True)
class GraphModelJSON:
    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]
    shards: list[str]


def _spec(key: str, info: dict, where: str) -> TensorSpec:
    dtype = DTYPES.get(info.get("dtype", "DT_FLOAT"))
    if dtype is None:
        raise StageError(
            f"{where}: tensor {key!r} has dtype {info.get('dtype')}, which the validator cannot "
            f"feed (it feeds {', '.join(DTYPES)})"
        )
    shape = info.get("tensorShape")
    dims = None if shape is None or shape.get("unknownRank") else [int(d.get("size", -1)) for d in shape.get("dim", [])]
    return TensorSpec(key, dtype, dims)


def read_model_json(model_dir: Path) -> GraphModelJSON:
    path = model_dir / MODEL_JSON
    where = f"{model_dir.name}/{MODEL_JSON}"
    try:
        model = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StageError(f"{where} is not a readable TFJS model.json: {exc}") from None
    if model.get("format") != "graph-model":
        raise StageError(f"{where} is a {model.get('format')!r}, not a TFJS graph model")
    signature = model.get("signature") or model.get("userDefinedMetadata", {}).get("signature") or {}
    if not signature.get("inputs") or not signature.get("outputs"):
        raise StageError(f"{where} has no signature naming its inputs and outputs")
    shards = [shard for group in model.get("weightsManifest", []) for shard in group.get("paths", [])]
    missing = [shard for shard in shards if not (model_dir / shard).is_file()]
    if missing:
        raise StageError(f"{where} names weight shards that are not there: {missing}")
    return GraphModelJSON(
        inputs={key: _spec(key, info, where) for key, info in signature["inputs"].items()},
        outputs={key: _spec(key, info, where) for key, info in signature["outputs"].items()},
        shards=shards,
    )
