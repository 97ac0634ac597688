"""What a stage implementation receives: its config, input bundles and output dir."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stages.bundle import Bundle
from stages.catalog import Impl


@dataclass
class StageContext:
    impl: Impl
    config: dict
    inputs: list[Bundle]
    out: Path

    @property
    def source(self) -> Bundle:
        """The first input bundle: the model this stage works on."""
        return self.inputs[0]

    def option(self, name: str, default=None):
        value = self.config.get(name)
        return default if value is None else value
