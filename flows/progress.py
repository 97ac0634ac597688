"""Stage progress as the user sees it; the CLI installs a rich reporter."""
from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def started(self, stage: str, impl: str, image: str, runtime: str) -> None: ...

    def finished(self, stage: str, impl: str, seconds: float, cached: bool) -> None: ...

    def failed(self, stage: str, impl: str, reason: str) -> None: ...

    def note(self, text: str) -> None: ...


class Silent:
    def started(self, stage, impl, image, runtime): pass

    def finished(self, stage, impl, seconds, cached): pass

    def failed(self, stage, impl, reason): pass

    def note(self, text): pass


reporter: Reporter = Silent()


def use(new: Reporter) -> None:
    global reporter
    reporter = new
