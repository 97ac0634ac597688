"""How a TF1 checkpoint is recognised: `prefix.meta` (the graph) + `prefix.index` + `prefix.data-*` (the
weights), given as any of those files, as the prefix, or as the folder its `checkpoint` file points into
(pure Python: the orchestrator reads it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Tuple

from stages.sources import Found, SourceError, escape

PART = "[0-9]" * 5
SHARD = re.compile(r"^(?P<prefix>.+)\.data-(?P<part>\d{5})-of-(?P<parts>\d{5})$")
POINTER = re.compile(r'^model_checkpoint_path:\s*"(?P<path>[^"]+)"', re.MULTILINE)
SUFFIXES = (".meta", ".index")


def sniff(path: Path) -> bool:
    if path.is_dir():
        return (path / "checkpoint").is_file() or any(path.glob("*.meta"))
    if path.exists():
        return True
    return Path(f"{path}.index").is_file() or Path(f"{path}.meta").is_file()


def _prefix(path: Path) -> Path:
    if path.is_dir():
        return _latest(path)
    for suffix in SUFFIXES:
        if path.name.endswith(suffix):
            return path.with_name(path.name[: -len(suffix)])
    shard = SHARD.match(path.name)
    return path.with_name(shard["prefix"]) if shard else path


def _latest(folder: Path) -> Path:
    """The checkpoint the folder's `checkpoint` file names (by its file name: the path written there is
    the trainer's), else the folder's one .meta."""
    pointer = folder / "checkpoint"
    if pointer.is_file():
        found = POINTER.search(pointer.read_text(errors="replace"))
        if found:
            return folder / Path(found["path"].replace("\\", "/")).name
    metas = sorted(folder.glob("*.meta"))
    if len(metas) != 1:
        what = "no .meta file" if not metas else f"several ({', '.join(m.name for m in metas)}); pass one"
        raise SourceError(f"cannot tell which checkpoint to read: {what}", folder)
    return metas[0].with_name(metas[0].name[: -len(".meta")])


def resolve(path: Path, options: Mapping[str, object]) -> Found:
    prefix = _prefix(path)
    meta, index = Path(f"{prefix}.meta"), Path(f"{prefix}.index")
    if not meta.is_file():
        raise SourceError(
            f"the checkpoint has no {meta.name}: modelferry needs its graph, not only its weights "
            f"(save it with tf.compat.v1.train.Saver, which writes the .meta)",
            meta,
        )
    if not index.is_file():
        raise SourceError(f"the checkpoint's weights index {index.name} is missing", index)
    shards = sorted(prefix.parent.glob(f"{escape(prefix.name)}.data-{PART}-of-{PART}"))
    parts = {int(SHARD.match(s.name)["parts"]) for s in shards if SHARD.match(s.name)}
    if len(parts) != 1 or len(shards) != next(iter(parts)):
        raise SourceError(
            f"the checkpoint's weights are incomplete: found {[s.name for s in shards] or 'no'} "
            f"{prefix.name}.data-* files",
            index,
        )
    stem = prefix.name.split(".ckpt")[0] or prefix.name
    return Found({"meta": meta, "index": index, **{f"data-{n}": s for n, s in enumerate(shards)}}, stem)


def companions(entry: Path) -> Tuple[str, ...]:
    prefix = escape(_prefix(entry).name)
    return (f"{prefix}.index", f"{prefix}.data-*")
