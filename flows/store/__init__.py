"""Object storage for published artifacts: a local directory or S3."""

from __future__ import annotations

import json

from flows.errors import StoreError
from flows.store.base import Store
from flows.store.local import LocalStore


def check_name(store: Store, model: str, origin: str) -> None:
    """Refuse, before any work, a name another source already publishes under."""
    owner = store.get_bytes(f"{model}/model.json")
    if owner is not None and json.loads(owner).get("source") != origin:
        raise StoreError(
            f"the name {model!r} belongs to another model ({json.loads(owner).get('source')}); "
            f"give this one its own with --name",
            store.url,
        )


def open_store(url: str, endpoint_url: str | None = None) -> Store:
    """`s3://bucket/prefix` (boto3, optional endpoint for MinIO & co) or a local directory."""
    if url.startswith("s3://"):
        from flows.store.s3 import S3Store  # boto3 is 0.1 s to import: only a run that publishes to S3 pays it

        return S3Store.from_url(url, endpoint_url)
    if "://" in url:
        raise ValueError(f"--out {url!r}: use a local directory or s3://bucket/prefix")
    return LocalStore(url)


__all__ = ["Store", "LocalStore", "check_name", "open_store"]
