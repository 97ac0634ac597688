"""How a Caffe model is recognised: a net definition (`.prototxt`) and its trained weights (`.caffemodel`),
pointed at by either. The other file is the one of the same stem beside it, else the only one there
(`deploy.prototxt` beside `mobilenet.caffemodel`), else --caffemodel names the weights (pure Python: the
orchestrator reads it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Mapping, Tuple

from stages.sources import Found, SourceError, head

NET, WEIGHTS = ".prototxt", ".caffemodel"
# A net definition has layers; a solver (solver.prototxt) names a net and has none.
LAYERS = re.compile(rb"^\s*layers?\s*\{", re.MULTILINE)
INPUTS = re.compile(
    rb'^\s*(input\s*:|input_shape\s*\{|input_dim\s*:)|type\s*:\s*"Input"|type\s*:\s*INPUT\b', re.MULTILINE
)


def sniff(path: Path) -> bool:
    """A deploy net: layers and inputs declared (a train_val net reads a Data layer instead; a solver has no
    layers). A .caffemodel is always one."""
    if path.suffix == WEIGHTS:
        return True
    text = head(path)
    return bool(LAYERS.search(text) and INPUTS.search(text))


def _beside(path: Path, suffix: str, what: str, chosen=None) -> Path:
    if chosen:
        picked = Path(str(chosen))
        picked = picked if picked.is_absolute() else path.parent / picked
        if not picked.is_file():
            raise SourceError(f"the {what} --caffemodel names is missing", picked)
        return picked
    same = path.with_suffix(suffix)
    if same.is_file():
        return same
    found: List[Path] = sorted(p for p in path.parent.glob(f"*{suffix}") if p.is_file())
    if suffix == NET:
        found = [p for p in found if sniff(p)] or found
    if len(found) == 1:
        return found[0]
    if not found:
        raise SourceError(f"no {what} ({suffix}) beside it", path)
    names = ", ".join(p.name for p in found)
    pick = "--caffemodel NAME" if suffix == WEIGHTS else "point at the one to use"
    raise SourceError(f"cannot tell which {what} goes with it: {names}; {pick}", path)


def resolve(path: Path, options: Mapping[str, object]) -> Found:
    if not path.is_file():
        raise SourceError("no such file", path)
    if path.suffix == WEIGHTS:
        net, weights = _beside(path, NET, "net definition"), path
    else:
        net, weights = path, _beside(path, WEIGHTS, "weights file", options.get("caffemodel"))
    return Found({"prototxt": net, "caffemodel": weights}, (weights if net.stem == "deploy" else net).stem)


def companions(entry: Path) -> Tuple[str, ...]:
    """The weights beside the net definition (every .caffemodel there: --caffemodel picks one)."""
    return (f"*{WEIGHTS}",) if entry.suffix == NET else (f"*{NET}",)
