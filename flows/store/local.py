"""A local directory as the store; every write lands atomically, and every call stands another process
writing or removing the same folders at the same moment (two runs publishing, one sweeping)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
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
        return target

    def _write(self, key: str, write: Callable[[Path], object]) -> None:
        """`write(tmp)`, then the file in place at once. A folder emptied and removed by another process's
        delete between making it and writing into it is made again."""
        target = self._target(key)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        for attempt in range(5):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                write(tmp)
                os.replace(tmp, target)
                return
            except FileNotFoundError:
                if attempt == 4 or tmp.parent.exists():  # a missing source file, not a lost folder
                    raise

    def put_file(self, key: str, path: Path) -> None:
        self._write(key, lambda tmp: shutil.copyfile(path, tmp))

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self._write(key, lambda tmp: tmp.write_bytes(data))

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None  # not there, or removed by another process this moment

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        data = self.get_bytes(key)
        return data, None if data is None else hashlib.sha256(data).hexdigest()

    def swap(self, key: str, data: bytes, expected: str | None, content_type: str = "application/json") -> bool:
        target = self._target(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.with_name(f".{target.name}.lock"), "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)  # compare and replace as one step, across processes
            if self.get_versioned(key)[1] != expected:
                return False
            self.put_bytes(key, data, content_type)
            return True

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)
        for key in keys:  # and the folders they leave empty
            for folder in (self.root / key).parents:
                if folder == self.root:
                    break
                try:
                    folder.rmdir()
                except OSError:  # not empty (or written into this moment), or gone already
                    break

    def list(self, prefix: str = "") -> list[str]:
        """The keys under `prefix`; a folder removed by another process while it is read is skipped."""
        keys = []
        for folder, _, files in os.walk(self.root):  # os.walk passes over a folder that vanished
            base = Path(folder).relative_to(self.root)
            keys += [(base / name).as_posix() for name in files if not name.startswith(".")]
        return sorted(k for k in keys if k.startswith(prefix))
