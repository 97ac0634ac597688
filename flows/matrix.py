"""The support matrix (docs/formats.md), made from the registry (stages/catalog.py, from each framework's
registry.py) and the planner.

`modelferry support-matrix --write` puts it between the markers of docs/formats.md; a test fails when its
copy is stale, so the table never claims a route the registry does not have (or misses one it has).
"""

from __future__ import annotations

import re
from pathlib import Path

from flows import REPO_ROOT

BEGIN, END = "<!-- support-matrix: begin (modelferry support-matrix --write) -->", "<!-- support-matrix: end -->"
DOC = REPO_ROOT / "docs" / "formats.md"  # where the matrix is kept


def _converters(route) -> str:
    return " → ".join(step.name for step in route.steps if step.stage in ("export", "emit")) or "(the source itself)"


def support_matrix() -> str:
    from flows.config import ConvertRequest
    from flows.plan import plan
    from stages import catalog

    targets = list(catalog.TARGETS)
    lines = ["| source \\ target | " + " | ".join(targets) + " |", "|---" * (len(targets) + 1) + "|"]
    for source, bundle_format in catalog.SOURCES.items():
        cells = []
        for target in targets:
            (artifact,) = plan(ConvertRequest(source=Path("model"), targets=[target]), bundle_format).artifacts
            routes = artifact.routes
            more = f" (+{len(routes) - 1} fallback{'s' if len(routes) > 2 else ''})" if len(routes) > 1 else ""
            cells.append(f"{_converters(routes[0])}{more}")
        lines.append(f"| {source} | " + " | ".join(cells) + " |")
    lines += ["", "| target | --quantize |", "|---|---|"]
    lines += [f"| {t} | {', '.join(catalog.quantize_modes(t)) or '—'} |" for t in targets]
    lines += ["", "| stage | implementation | runtime | what it does |", "|---|---|---|---|"]
    lines += [f"| {i.stage} | {i.name} | {i.image} | {i.summary.replace('|', '/')} |" for i in catalog.IMPLS]
    lines += ["", "| framework option | declared in | given to | what it does |", "|---|---|---|---|"]
    lines += [
        f"| `{d.option.cli_flag}` | stages/{d.framework} | {_reached(d)} | {d.option.help.replace('|', '/')} |"
        for d in catalog.OPTIONS
    ]
    return "\n".join(lines)


def _reached(declared) -> str:
    from stages import catalog

    steps = [f"{i.stage}/{i.name}" for i in catalog.IMPLS if declared.reaches(i)]
    return ", ".join(steps) or "the orchestrator (it picks the source's files)"


def doc_copy(text: str | None = None) -> str | None:
    text = DOC.read_text() if text is None else text
    found = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    return found.group(1) if found else None


def write_doc() -> bool:
    """Put the matrix in docs/formats.md; False when it was current already."""
    text = DOC.read_text()
    if doc_copy(text) == support_matrix():
        return False
    if BEGIN not in text or END not in text:
        raise ValueError(f"{DOC} has no {BEGIN} … {END} markers")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + support_matrix() + "\n" + text[end:])
    return True
