"""Sources that are not local files: `s3://bucket/key` and `models:/name/version` (flows/mlflow_registry.py),
fetched into MODELFERRY_HOME/downloads.

A download is kept by the object's ETag: an unchanged object is not fetched again, so an unchanged
batch re-run reads nothing from the bucket but the objects' heads. The name the model gets in the store
is told by the key, as it would be by a local path.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from flows.errors import ConversionError
from flows.settings import home
from flows.source import store_name

SCHEMES = ("s3://", "models:/")
PARAMS = re.compile(r"-\d{4}\.params$")


@dataclass(frozen=True)
class Fetched:
    path: Path       # the local file (or folder) to convert
    origin: str      # where the model comes from (the URI; a registered model's name for every version)
    name: str        # the model's name in the store, told by the URI
    exact: str = ""  # the very version fetched (models:/name/3 for models:/name@alias)


def is_remote(source: str) -> bool:
    return source.startswith(SCHEMES)


def fetch(source: str, s3_endpoint_url: str | None = None) -> Fetched:
    if source.startswith("s3://"):
        return _fetch_s3(source, s3_endpoint_url)
    if source.startswith("models:/"):
        from flows import mlflow_registry

        return mlflow_registry.fetch(source)
    raise ConversionError("load", f"cannot fetch {source}: sources are local paths or s3:// URIs", file=source)


def _belongs(name: str, key: str) -> bool:
    """Whether object `name` is part of the model at `key`: the object itself, a file of the folder
    `key/` (a SavedModel), or an MXNet symbol's prefix-NNNN.params."""
    if name == key or name.startswith(key + "/"):
        return True
    params = PARAMS.search(name)
    return key.endswith("-symbol.json") and params is not None and name[:params.start()] == key[:-len("-symbol.json")]


def _objects(client, bucket: str, key: str) -> dict[str, str]:
    """The objects that make the model at `key` → their ETags."""
    prefix = key[:-len("-symbol.json")] if key.endswith("-symbol.json") else key
    listed = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        listed.update({item["Key"]: item["ETag"] for item in page.get("Contents", []) if _belongs(item["Key"], key)})
    return listed


def _fetch_s3(source: str, endpoint_url: str | None) -> Fetched:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from flows.store.s3 import CLIENT_CONFIG

    bucket, _, key = source[len("s3://"):].partition("/")
    base = key.rstrip("/")
    if not bucket or not base:
        raise ConversionError("load", "an s3:// source names a bucket and a key", file=source)
    client = boto3.client("s3", endpoint_url=endpoint_url, config=CLIENT_CONFIG)
    try:
        objects = _objects(client, bucket, base)
    except (BotoCoreError, ClientError) as exc:
        raise ConversionError("load", f"cannot list the source in its bucket: {exc}", file=source) from None
    if not objects:
        raise ConversionError("load", "no such object (or folder) in the bucket", file=source)
    folder = home() / "downloads" / hashlib.sha256(source.encode()).hexdigest()[:24]
    versions = json.dumps(objects, sort_keys=True)
    if not (folder / "etags.json").is_file() or (folder / "etags.json").read_text() != versions:
        _download(client, bucket, base, objects, folder, versions, source)
    return Fetched(folder / "files" / PurePosixPath(base).name, source, store_name(Path("/", base), _stem(base)))


def _download(client, bucket: str, base: str, objects: dict[str, str], folder: Path, versions: str,
              source: str) -> None:
    """Every object into a scratch folder, then the folder in place of the old one at once."""
    from botocore.exceptions import BotoCoreError, ClientError

    scratch = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
    parent = PurePosixPath(base).parent
    try:
        for name in objects:
            target = scratch / "files" / PurePosixPath(name).relative_to(parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, name, str(target))
        (scratch / "etags.json").write_text(versions)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(scratch, folder)
    except (BotoCoreError, ClientError, OSError) as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise ConversionError("load", f"downloading the source failed: {exc}", file=source) from None


def _stem(base: str) -> str:
    name = PurePosixPath(base).name
    if name.endswith("-symbol.json"):
        return name[: -len("-symbol.json")]
    return PurePosixPath(name).stem if "." in name else name
