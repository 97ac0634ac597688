"""How an MXNet checkpoint is recognised: `prefix-symbol.json` + `prefix-NNNN.params`, or the prefix with
--epoch (pure Python: the orchestrator reads it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Tuple

from stages.sources import Found, SourceError, escape, head

SYMBOL = "-symbol.json"
PARAMS = re.compile(r"^(?P<prefix>.+)-(?P<epoch>\d{4})\.params$")
EPOCHS = "-[0-9][0-9][0-9][0-9].params"


def sniff(path: Path) -> bool:
    """A symbol file is JSON with a `nodes` list; a prefix is one when its symbol file is there."""
    if path.name.endswith(SYMBOL):
        return b'"nodes"' in head(path)
    if path.name.endswith(".params"):
        return True
    return Path(f"{path}{SYMBOL}").is_file()


def _prefix(path: Path, epoch):
    text = str(path)
    if text.endswith(SYMBOL):
        return Path(text[: -len(SYMBOL)]), epoch
    if match := PARAMS.match(path.name):
        return path.with_name(match["prefix"]), int(match["epoch"]) if epoch is None else epoch
    return path, epoch


def resolve(path: Path, options: Mapping[str, object]) -> Found:
    prefix, epoch = _prefix(path, options.get("epoch"))
    symbol = Path(f"{prefix}{SYMBOL}")
    if not symbol.is_file():
        raise SourceError("the symbol file is missing", symbol)
    if epoch is None:
        found = sorted(prefix.parent.glob(f"{prefix.name}{EPOCHS}"))
        if len(found) != 1:
            what = (
                "no .params file beside it"
                if not found
                else f"several epochs ({', '.join(p.name for p in found)}); pick one with --epoch"
            )
            raise SourceError(f"cannot tell which parameters to use: {what}", symbol)
        params = found[0]
    else:
        params = Path(f"{prefix}-{int(epoch):04d}.params")
    if not params.is_file():
        raise SourceError("the parameters file is missing", params)
    return Found({"symbol": symbol, "params": params}, prefix.name)


def companions(entry: Path) -> Tuple[str, ...]:
    """Every epoch's parameters beside the symbol file (--epoch picks one after the download)."""
    prefix, _ = _prefix(entry, None)
    return (f"{escape(prefix.name)}{EPOCHS}",)
