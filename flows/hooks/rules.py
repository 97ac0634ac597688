"""hooks.yaml: which registered models to convert, and how.

    rules:
      - model: "faces-*"            # a glob of registered model names
        tags: {convert: "yes"}      # optional: tags the version must carry
        to: [onnx, tflite]          # the rest: a batch manifest entry's keys (convert's long options)
        input_shape: {data: [1, 3, 112, 112]}
        out: s3://bucket/converted

The first rule that matches a version decides its conversion.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from flows.batch import PATH_OPTIONS, ManifestError, entry, local_path


@dataclass(frozen=True)
class Rule:
    index: int
    model: str
    tags: dict[str, str] = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    def matches(self, name: str, tags: dict[str, str]) -> bool:
        return fnmatch.fnmatchcase(name, self.model) and all(tags.get(k) == v for k, v in self.tags.items())


def load(path: Path) -> list[Rule]:
    """The rules, each checked as a conversion of a placeholder version; ManifestError names the rule."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: cannot read its rules: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list) or not data["rules"]:
        raise ManifestError(f"{path}: needs `rules:`, a list (each with a `model` glob)")
    rules = []
    for index, raw in enumerate(data["rules"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("model"), str):
            raise ManifestError(f"{path}: rule #{index + 1} has no `model` (a glob of registered model names)")
        options = {k: v for k, v in raw.items() if k not in ("model", "tags")}
        tags = {str(k): str(v) for k, v in (raw.get("tags") or {}).items()}
        try:
            entry(index, {"source": "models:/placeholder/1", **options}, path.resolve().parent)
        except ManifestError as exc:
            raise ManifestError(f"{path}: rule #{index + 1} ({raw['model']}): {exc}") from None
        base = path.resolve().parent  # a conversion runs anywhere: its paths are made absolute here
        for key in (*PATH_OPTIONS, "out"):
            if options.get(key) and "://" not in str(options[key]):
                options[key] = local_path(base, str(options[key]))
        rules.append(Rule(index, raw["model"], tags, options))
    return rules


def first_match(rules: list[Rule], name: str, tags: dict[str, str]) -> Rule | None:
    return next((rule for rule in rules if rule.matches(name, tags)), None)
