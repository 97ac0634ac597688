"""A model fetched from where it lives (s3://, models:/) to a local path: what every fetcher returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Fetched:
    path: Path  # the local file (or folder) to convert
    origin: str  # where the model comes from (the URI; a registered model's name for every version)
    name: str  # the model's name in the store, told by the URI
    exact: str = ""  # the very version fetched (models:/name/3 for models:/name@alias)
