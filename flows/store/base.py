"""What the publisher needs from a store."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Store(Protocol):
    url: str

    def check(self) -> None:
        """Fail now, with StoreError, if the store cannot be written."""

    def put_file(self, key: str, path: Path) -> None: ...

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    def get_bytes(self, key: str) -> bytes | None: ...

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        """The object and a token of its version, for `swap` (None, None when there is none)."""

    def swap(self, key: str, data: bytes, expected: str | None, content_type: str = "application/json") -> bool:
        """Write only if the object is still the version `expected` (None: only if there is none yet);
        False when another writer came first."""

    def delete(self, keys: list[str]) -> None: ...

    def list(self, prefix: str = "") -> list[str]: ...
