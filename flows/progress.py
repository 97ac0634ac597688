"""Stage progress as the user sees it; the CLI installs a rich reporter."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol

# Which conversion a line is about, where several run at once (a batch): set per conversion, and
# carried into its branches' threads with the context.
model: ContextVar[str] = ContextVar("model", default="")


class Reporter(Protocol):
    def started(self, name: str, image: str, runtime: str) -> None: ...

    def finished(self, name: str, seconds: float, cached: bool) -> None: ...

    def failed(self, name: str, reason: str) -> None: ...

    def note(self, text: str) -> None: ...


class Silent:
    def started(self, name, image, runtime):
        pass

    def finished(self, name, seconds, cached):
        pass

    def failed(self, name, reason):
        pass

    def note(self, text):
        pass


reporter: Reporter = Silent()


def use(new: Reporter) -> None:
    global reporter
    reporter = new
