"""What a stage implementation receives: its config, input bundles and output dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stages.bundle import Bundle
from stages.impl import Impl


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

    def user_file_name(self, role: str) -> str:
        """The name the user gave a source file (bundles rename files; errors should not)."""
        files = self.source.manifest.get("source", {}).get("files", {})
        return files.get(role, {}).get("name") or self.source.file(role).name

    def option(self, name: str, default=None):
        """The config's value, else `default`, else the declared default of the framework option that reaches
        this stage (stages/options.py: a default lives once, in its declaration)."""
        value = self.config.get(name)
        if value is not None:
            return value
        if default is not None:
            return default
        from stages import catalog

        return next(
            (
                declared.option.default
                for declared in catalog.OPTIONS
                if declared.option.name == name and declared.reaches(self.impl)
            ),
            None,
        )
