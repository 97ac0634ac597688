"""A local directory as the store; every write lands atomically."""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from flows.errors import StoreError


class LocalStore:
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()
        self.url = str(self.root)

    def check(self) -> None:
        """Writable, and nothing made: where the folder is not there yet, its nearest existing parent must let
        it be made (a run that fails before it publishes leaves no folder behind)."""
        existing = self.root.absolute()
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        try:
            probe = existing / f".write-check-{uuid.uuid4().hex[:8]}"
            probe.mkdir()
            probe.rmdir()
        except OSError as exc:
            raise StoreError(f"cannot write to {self.root}: {exc.strerror}", self.url) from None

    def _target(self, key: str) -> Path:
        target = (self.root / key).resolve()
        if self.root.resolve() not in target.parents:
            raise StoreError(f"refusing to write outside the store: {key}", self.url)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def put_file(self, key: str, path: Path) -> None:
        target = self._target(key)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        target = self._target(key)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def get_bytes(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.is_file() else None

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        data = self.get_bytes(key)
        return data, None if data is None else hashlib.sha256(data).hexdigest()

    def swap(self, key: str, data: bytes, expected: str | None, content_type: str = "application/json") -> bool:
        target = self._target(key)
        with open(target.with_name(f".{target.name}.lock"), "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)   # compare and replace as one step, across processes
            if self.get_versioned(key)[1] != expected:
                return False
            self.put_bytes(key, data, content_type)
            return True

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)
        for key in keys:   # and the folders they leave empty
            for folder in (self.root / key).parents:
                if folder == self.root or not folder.is_dir() or any(folder.iterdir()):
                    break
                folder.rmdir()

    def list(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not Path(k).name.startswith("."))
