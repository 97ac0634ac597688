"""Sources that are not local files: `s3://bucket/key` and `models:/name/version` (flows/mlflow_registry.py),
fetched into MODELFERRY_HOME/downloads.

A download is kept by the object's ETag: an unchanged object is not fetched again, so an unchanged
batch re-run reads nothing from the bucket but the objects' heads. The name the model gets in the store
is told by the key, as it would be by a local path.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path, PurePosixPath

from flows.errors import ConversionError
from flows.fetched import Fetched
from flows.settings import home
from flows.source import store_name
from stages import catalog, sources

SCHEMES = ("s3://", "models:/")


def is_remote(source: str) -> bool:
    return source.startswith(SCHEMES)


def fetch(source: str, s3_endpoint_url: str | None = None) -> Fetched:
    if source.startswith("s3://"):
        return _fetch_s3(source, s3_endpoint_url)
    if source.startswith("models:/"):
        from flows import mlflow_registry

        return mlflow_registry.fetch(source)
    raise ConversionError("load", f"cannot fetch {source}: sources are local paths or s3:// URIs", file=source)


def _listed(client, bucket: str, prefix: str) -> dict[str, str]:
    """Object name -> ETag, for every object whose name starts with `prefix`."""
    listed = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        listed.update({item["Key"]: item["ETag"] for item in page.get("Contents", [])})
    return listed


def _model_objects(client, bucket: str, key: str) -> dict[str, str]:
    """The object `key`, or every object of the folder `key/` (a SavedModel)."""
    return {
        name: etag for name, etag in _listed(client, bucket, key).items() if name == key or name.startswith(key + "/")
    }


def _companions(client, bucket: str, key: str, entry: Path, source: str) -> dict[str, str]:
    """The other objects the model at `key` needs, as its format declares them (stages/sources.py): glob
    patterns beside the entry, read from the entry's own content where it names them (ONNX external
    data, TFJS weight shards) or by convention (an MXNet symbol's params)."""
    try:
        kind = sources.choose(entry, catalog.SOURCE_KINDS)
    except sources.SourceError as exc:
        raise ConversionError("load", exc.message, file=source) from None
    parent = PurePosixPath(key).parent
    folder = "" if str(parent) == "." else f"{parent}/"
    found = {}
    for pattern in kind.needs(entry):
        literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
        for name, etag in _listed(client, bucket, folder + literal).items():
            if name != key and fnmatch.fnmatchcase(name[len(folder) :], pattern):
                found[name] = etag
    return found


def _fetch_s3(source: str, endpoint_url: str | None) -> Fetched:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from flows.store.s3 import CLIENT_CONFIG

    bucket, _, key = source[len("s3://") :].partition("/")
    base = key.rstrip("/")
    if not bucket or not base:
        raise ConversionError("load", "an s3:// source names a bucket and a key", file=source)
    client = boto3.client("s3", endpoint_url=endpoint_url, config=CLIENT_CONFIG)
    folder = home() / "downloads" / hashlib.sha256(source.encode()).hexdigest()[:24]
    try:
        objects = _model_objects(client, bucket, base)
        if not objects:
            raise ConversionError("load", "no such object (or folder) in the bucket", file=source)
        peeked = {}
        if base in objects:  # one file: its format names the files that come with it
            entry = folder / "files" / PurePosixPath(base).name
            if _cached(folder).get(base) != objects[base]:
                entry = peeked[base] = _download_one(client, bucket, base, folder)
            objects.update(_companions(client, bucket, base, entry, source))
    except (BotoCoreError, ClientError) as exc:
        raise ConversionError("load", f"cannot list the source in its bucket: {exc}", file=source) from None
    versions = json.dumps(objects, sort_keys=True)
    if _cached(folder) != objects:
        _download(client, bucket, base, objects, folder, versions, source, peeked)
    return Fetched(folder / "files" / PurePosixPath(base).name, source, store_name(Path("/", base), _stem(base)))


def _cached(folder: Path) -> dict[str, str]:
    """The objects (name -> ETag) of the download kept in `folder`, if one is complete."""
    try:
        return json.loads((folder / "etags.json").read_text())
    except (OSError, ValueError):
        return {}


def _download_one(client, bucket: str, key: str, folder: Path) -> Path:
    """The model's entry file alone, to read which files come with it."""
    peek = folder.with_name(f".{folder.name}.peek.{uuid.uuid4().hex[:8]}")
    peek.mkdir(parents=True)
    target = peek / PurePosixPath(key).name
    client.download_file(bucket, key, str(target))
    return target


def _download(
    client,
    bucket: str,
    base: str,
    objects: dict[str, str],
    folder: Path,
    versions: str,
    source: str,
    peeked: dict[str, Path],
) -> None:
    """Every object into a scratch folder (the entry already fetched is moved there), then the folder in
    place of the old one at once."""
    from botocore.exceptions import BotoCoreError, ClientError

    scratch = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
    parent = PurePosixPath(base).parent
    try:
        for name in objects:
            relative = PurePosixPath(name).relative_to(parent)
            if ".." in relative.parts:
                raise ConversionError(
                    "load", f"the bucket's object {name!r} leads outside the model's folder", file=source
                )
            target = scratch / "files" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if name in peeked:
                os.replace(peeked[name], target)
            else:
                client.download_file(bucket, name, str(target))
        (scratch / "etags.json").write_text(versions)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(scratch, folder)
    except (BotoCoreError, ClientError, OSError) as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise ConversionError("load", f"downloading the source failed: {exc}", file=source) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for peek in folder.parent.glob(f".{folder.name}.peek.*"):
            shutil.rmtree(peek, ignore_errors=True)


def _stem(base: str) -> str:
    name = PurePosixPath(base).name
    if name.endswith("-symbol.json"):
        return name[: -len("-symbol.json")]
    return PurePosixPath(name).stem if "." in name else name
