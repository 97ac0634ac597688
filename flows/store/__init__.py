"""Object storage for published artifacts: a local directory or S3."""
from __future__ import annotations

from flows.store.base import Store
from flows.store.local import LocalStore


def open_store(url: str, endpoint_url: str | None = None) -> Store:
    """`s3://bucket/prefix` (boto3, optional endpoint for MinIO & co) or a local directory."""
    if url.startswith("s3://"):
        from flows.store.s3 import S3Store   # boto3 is 0.1 s to import: only a run that publishes to S3 pays it

        return S3Store.from_url(url, endpoint_url)
    if "://" in url:
        raise ValueError(f"--out {url!r}: use a local directory or s3://bucket/prefix")
    return LocalStore(url)


__all__ = ["Store", "LocalStore", "open_store"]
