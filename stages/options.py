"""A framework's own options, declared beside its registry rows (`OPTIONS` in `stages/<fw>/registry.py`).

One declaration gives the `convert` command its flag (in the framework's own --help panel), a batch
manifest and a hook rule their key (the option's name), the request its typed field, and the planner the
steps whose config carries the value. Pure Python, like the rows: the orchestrator reads every
framework's options without any framework.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Dict, List, Optional  # not `str | None`: the caffe runtime's Python is 3.9

ANY = ("*",)  # `formats`: every format (an option of the IR, read by whatever writes it)
READS_SOURCE = frozenset({"load", "surgery"})


@dataclass(frozen=True)
class Kind:
    """How an option is written on the command line and what it holds."""

    python: object  # the request's field type
    empty: object  # the value of an option not given
    separator: str = ""  # `pairs`: between a key and its value (a manifest may write them as a mapping)


KINDS = {
    "flag": Kind(bool, False),  # --simplify / --no-simplify
    "text": Kind(Optional[str], None),  # --signature serving_default
    "int": Kind(Optional[int], None),  # --epoch 7
    "names": Kind(List[str], []),  # --outputs a,b (comma-separated)
    "pairs": Kind(Dict[str, str], {}, "="),  # --rename old=new, repeated
}


@dataclass(frozen=True)
class Option:
    """`name`: the manifest key and the stage-config key (`--name-with-dashes` unless `flag` says otherwise).
    `stages`: the stages whose steps get the value: the declaring framework's own rows of those stages, and
    the rows of other frameworks that read one of `formats` (`ANY`: every row of those stages); `()`: the
    orchestrator reads it (MXNet's --epoch picks the checkpoint's files). An option of the stages that read
    the source (load, surgery, or none) given for a source of another framework is refused by the planner.
    `default`: the value when the option is not given (None: the kind's empty value); a value other than
    the empty one is always passed on."""

    name: str
    kind: str
    help: str
    stages: tuple[str, ...] = ()
    flag: str = ""
    default: object = None
    formats: tuple[str, ...] = ()
    separator: str = ""  # `pairs`: between a key and its value, where not the kind's (`--input-dtype ids:int64`)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"option {self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def pair_separator(self) -> str:
        return self.separator or KINDS[self.kind].separator

    @property
    def initial(self) -> object:
        """The value when not given."""
        return copy.copy(KINDS[self.kind].empty if self.default is None else self.default)

    @property
    def reads_source(self) -> bool:
        return not self.stages or set(self.stages) <= READS_SOURCE

    def given(self, value) -> bool:
        return value not in (None, False, [], {})

    def reaches(self, stage: str, own: bool, consumes: tuple[str, ...]) -> bool:
        """Whether a row of `stage` (of the declaring framework when `own`) reading `consumes` gets the value."""
        return stage in self.stages and (own or self.formats == ANY or bool(set(self.formats) & set(consumes)))
