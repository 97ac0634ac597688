"""What a run leaves in Prefect's UI: the report's summary as an artifact, linked to report.html.

Artifacts with a key get a version history on Prefect's Artifacts page: one key per model
(`convert-<model>`), so each conversion of a model is a new version of its artifact.
"""

from __future__ import annotations

import re
from pathlib import Path

from flows.units import latency_text

KEY_UNSAFE = re.compile(r"[^a-z0-9-]+")


def artifact_key(kind: str, name: str) -> str:
    """Prefect's keys take lowercase letters, digits and dashes only."""
    return f"{kind}-{KEY_UNSAFE.sub('-', name.lower()).strip('-')}"[:100]


def link(location: str, file: str) -> str:
    """Where a published file is: s3://… as is, a local store as a file:// URL."""
    url = f"{location.rstrip('/')}/{file}"
    return url if "://" in url else Path(url).resolve().as_uri()


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def conversion_markdown(report: dict, location: str) -> str:
    rows = [
        "| target | precision | parity | max abs err | cosine | bytes | latency | file |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in report["artifacts"]:
        p = a.get("parity") or {}
        verdict = "passed" if a["published"] else f"**failed**: {a.get('reason', '')}"
        err = "–" if p.get("max_abs_err") is None else f"{p['max_abs_err']:.3g}"
        cosine = "–" if p.get("cosine") is None else f"{p['cosine']:.6f}"
        rows.append(
            f"| {a['target']} | {a['precision']} | {_cell(verdict)} | {err} | {cosine} | "
            f"{a.get('bytes', '–')} | {latency_text(a.get('latency'))} | "
            f"{_cell(a['path'] or 'not published')} |"
        )
    return (
        f"## {report['model']}: {report['status']}\n\n"
        f"Source: {report['source']['format']} `{report['source']['name']}` "
        f"(sha256 {report['source']['sha256'][:12]}…), run `{report['run_id']}`\n\n"
        + "\n".join(rows)
        + f"\n\n[report.html]({link(location, 'report.html')}) · [report.json]({link(location, 'report.json')})\n"
    )


def record_conversion(report: dict, location: str) -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        markdown=conversion_markdown(report, location),
        key=artifact_key("convert", report["model"]),
        description=f"modelferry: {report['model']} {report['status']}",
    )


def record_batch(report: dict, rows: list[dict]) -> None:
    from prefect.artifacts import create_table_artifact

    create_table_artifact(
        table=rows,
        key=artifact_key("batch", Path(report["manifest"]).stem),
        description=f"modelferry batch {report['batch_id']}: {report['status']} "
        f"({report['counts']}); report: {link(report['location'], 'report.html')}",
    )
