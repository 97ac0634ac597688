"""S3 (or any S3-compatible endpoint) as the store, through boto3.

Credentials and region come from the usual AWS settings (environment,
profile, instance role); `endpoint_url` points at MinIO and friends.
"""

from __future__ import annotations

from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from flows.errors import StoreError

# Fail fast on an unreachable endpoint instead of retrying for minutes.
CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60)


class S3Store:
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None):
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url, config=CLIENT_CONFIG)

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> "S3Store":
        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"--out {url!r} names no bucket")
        return cls(bucket, prefix, endpoint_url)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, exc: Exception, action: str) -> StoreError:
        if isinstance(exc, NoCredentialsError):
            cause = "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)"
        elif isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            cause = {
                "404": f"bucket {self.bucket!r} does not exist",
                "NoSuchBucket": f"bucket {self.bucket!r} does not exist",
                "403": "access denied: wrong credentials or no permission",
                "AccessDenied": "access denied: wrong credentials or no permission",
                "InvalidAccessKeyId": "wrong credentials: the access key is not known",
                "SignatureDoesNotMatch": "wrong credentials: the secret key does not match",
            }.get(code, f"{code}: {exc}")
        else:
            cause = f"cannot reach the S3 endpoint: {exc}"
        return StoreError(f"{action} failed: {cause}", self.url)

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "checking the bucket") from None

    def put_file(self, key: str, path: Path) -> None:
        try:
            self.client.upload_file(str(path), self.bucket, self._key(key))
        except (BotoCoreError, ClientError, boto3.exceptions.S3UploadFailedError) as exc:
            raise self._fail(exc, f"uploading {key}") from None

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, f"uploading {key}") from None

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._fail(exc, f"reading {key}") from None

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return found["Body"].read(), found["ETag"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, None
            raise self._fail(exc, f"reading {key}") from None

    def swap(self, key: str, data: bytes, expected: str | None, content_type: str = "application/json") -> bool:
        """S3's conditional writes: If-Match the ETag read, or If-None-Match * for a new object."""
        condition = {"IfMatch": expected} if expected else {"IfNoneMatch": "*"}
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type, **condition
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
                "412",
                "409",
            ):
                return False
            raise self._fail(exc, f"uploading {key}") from None
        except BotoCoreError as exc:
            raise self._fail(exc, f"uploading {key}") from None

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes 1000 keys at a time
            batch = [{"Key": self._key(k)} for k in keys[start : start + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except (BotoCoreError, ClientError) as exc:
                raise self._fail(exc, "deleting an unfinished run") from None

    def list(self, prefix: str = "") -> list[str]:
        keys, strip = [], len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                keys += [item["Key"][strip:] for item in page.get("Contents", [])]
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "listing") from None
        return sorted(keys)
