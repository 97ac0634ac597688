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

    def list(self, prefix: str = "") -> list[str]: ...
