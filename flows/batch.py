"""`modelferry batch models.yaml`: many conversions, up to N at once, one batch report.

    out: s3://bucket/converted          # or a directory (relative to the manifest)
    defaults: {to: [onnx, tflite], quantize: [fp16]}
    models:
      - source: faces/model-symbol.json
        input_shape: {data: [1, 3, 112, 112]}
      - source: s3://bucket/models/detector.pt2
        to: [tflite]

Each entry is the convert command with its long options as keys (flows/options.py); paths are relative
to the manifest. The whole manifest is checked before any work. Each conversion is a subflow of the
`batch` flow; one model's failure stops no other.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from flows.config import ConvertRequest
from flows.fetched import Fetched
from flows.options import entry_params, error_messages, request_from_options
from flows.remote import fetch, is_remote

TOP_KEYS = ("out", "defaults", "models")
PATH_OPTIONS = ("calibration", "samples", "labels")
BATCHES = "_batches"  # the store's folder for batch reports (no model name starts with "_")


class ManifestError(ValueError):
    pass


@dataclass
class Entry:
    index: int
    source: str  # as the manifest wrote it
    request: ConvertRequest  # with the local source, or a placeholder for a remote one until fetched

    @property
    def label(self) -> str:
        return f"#{self.index + 1} {self.source}"


@dataclass
class Outcome:
    index: int
    source: str
    status: str  # passed | failed (a target missed its gate) | error (nothing published)
    model: str | None = None
    location: str | None = None
    seconds: float = 0.0
    stages_run: int = 0  # stage processes started (0 for an unchanged re-run)
    targets: dict[str, str] = field(default_factory=dict)  # target/precision -> passed | the reason
    error: str | None = None


def local_path(manifest_dir: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else manifest_dir / path)


def load(path: Path) -> tuple[str, list[Entry]]:
    """The manifest's store and its entries, each a checked ConvertRequest. ManifestError names the file,
    the entry and the key."""
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ManifestError(f"{where}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{where}: not YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list) or not data["models"]:
        raise ManifestError(f"{where}: needs `models:`, a list of models (each with a `source`)")
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise ManifestError(
            f"{where}: unknown top-level key(s) {', '.join(unknown)}; the keys are {', '.join(TOP_KEYS)}"
        )
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ManifestError(f"{where}: `defaults` is a mapping of convert's options")
    out = str(data.get("out") or defaults.get("out") or "./artifacts")
    entries = []
    for index, model in enumerate(data["models"]):
        if not isinstance(model, dict) or not model.get("source"):
            raise ManifestError(f"{where}: model #{index + 1} has no `source`")
        try:
            entries.append(entry(index, {"out": out, **defaults, **model}, path.resolve().parent))
        except ManifestError as exc:
            raise ManifestError(f"{where}: model #{index + 1} ({model['source']}): {exc}") from None
    return out, entries


def entry(index: int, options: dict, base: Path) -> Entry:
    """One model: `source` and convert's options by their long names; relative paths from `base`."""
    options = dict(options)
    source = str(options.pop("source"))
    for key in PATH_OPTIONS:
        if options.get(key):
            options[key] = local_path(base, str(options[key]))
    if options.get("out") and "://" not in str(options["out"]):
        options["out"] = local_path(base, str(options["out"]))
    try:
        request = request_from_options(
            entry_params({**options, "source": "remote-source" if is_remote(source) else local_path(base, source)})
        )
    except ValueError as exc:
        raise ManifestError("; ".join(error_messages(exc))) from None
    return Entry(index, source, request)


def resolve_remote(entry: Entry) -> tuple[ConvertRequest, Fetched | None]:
    """The request with its source fetched where it is a URI (its origin the URI, its name in the store
    told by the URI), and what was fetched; a local source as it is, and None."""
    if not is_remote(entry.source):
        return entry.request, None
    fetched = fetch(entry.source, entry.request.s3_endpoint_url)
    return entry.request.model_copy(
        update={"source": fetched.path, "origin": fetched.origin, "name": entry.request.name or fetched.name}
    ), fetched


def outcome_of(
    entry: Entry, report: dict | None, location: str | None, seconds: float, error: str | None = None
) -> Outcome:
    if report is None:
        return Outcome(entry.index, entry.source, "error", seconds=round(seconds, 2), error=error)
    targets = {
        f"{a['target']}/{a['precision']}": "passed" if a["published"] else a.get("reason", "failed")
        for a in report["artifacts"]
    }
    return Outcome(
        entry.index,
        entry.source,
        report["status"],
        model=report["model"],
        location=location,
        seconds=round(seconds, 2),
        stages_run=sum(not s["cached"] for s in report["stages"] + report["failed_stages"]),
        targets=targets,
    )


def batch_report(manifest: Path, out: str, outcomes: list[Outcome], seconds: float, parallel: int) -> dict:
    counts = {status: sum(o.status == status for o in outcomes) for status in ("passed", "failed", "error")}
    return {
        "batch_id": f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}",
        "manifest": str(manifest),
        "out": out,
        "status": "passed" if counts["passed"] == len(outcomes) else "failed",
        "counts": counts,
        "parallel": parallel,
        "seconds": round(seconds, 2),
        "stages_run": sum(o.stages_run for o in outcomes),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "models": [asdict(o) for o in outcomes],
    }


def table_rows(report: dict) -> list[dict]:
    """One row per model, for the CLI and Prefect's table artifact."""
    return [
        {
            "model": m["model"] or m["source"],
            "status": m["status"],
            "targets": ", ".join(f"{t}: {'ok' if v == 'passed' else 'FAILED'}" for t, v in m["targets"].items())
            or (m["error"] or ""),
            "seconds": m["seconds"],
            "stages run": m["stages_run"],
            "published": m["location"] or "–",
        }
        for m in report["models"]
    ]


def render_html(report: dict) -> str:
    from html import escape

    from flows.report_html import STYLE

    rows = "".join(
        f"<tr><td>{escape(str(r['model']))}</td><td class='{'passed' if r['status'] == 'passed' else 'failed'}'>"
        f"{escape(r['status'])}</td><td>{escape(r['targets'])}</td><td>{r['seconds']}</td><td>{r['stages run']}</td>"
        f"<td>{escape(r['published'])}</td></tr>"
        for r in table_rows(report)
    )
    counts = ", ".join(f"{n} {s}" for s, n in report["counts"].items())
    return (
        f"<!doctype html><meta charset=utf-8><meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>batch {escape(report['batch_id'])}</title><style>{STYLE}</style>"
        f"<h1>Batch {escape(report['batch_id'])}: {escape(report['status'])}</h1><p>{escape(report['manifest'])}: "
        f"{counts}, {report['seconds']} s at --parallel {report['parallel']}, {report['stages_run']} stages run</p>"
        f"<h2>Models × targets</h2>{_grid(report['models'])}<h2>Models</h2>"
        f"<table><tr><th>model</th><th>status</th><th>targets</th><th>seconds</th><th>stages run</th>"
        f"<th>published</th></tr>{rows}</table>"
    )


def _grid(models: list[dict]) -> str:
    """A row per model, a column per target and precision: ✓ published, ✗ not (the reason on hover)."""
    from html import escape

    keys = sorted({key for m in models for key in m["targets"]})
    head = "".join(f"<th>{escape(key)}</th>" for key in keys)

    def cell(m: dict, key: str) -> str:
        if key not in m["targets"]:
            return "<td class='muted'>–</td>"
        said = m["targets"][key]
        return (
            "<td class='passed'>✓</td>"
            if said == "passed"
            else f"<td class='failed' title='{escape(said, quote=True)}'>✗</td>"
        )

    rows = "".join(
        f"<tr><td>{escape(str(m['model'] or m['source']))}</td>"
        + (
            "".join(cell(m, key) for key in keys)
            if m["targets"]
            else f"<td colspan='{max(len(keys), 1)}' class='failed'>{escape(m.get('error') or '')}</td>"
        )
        + "</tr>"
        for m in models
    )
    return f"<table><tr><th>model</th>{head}</tr>{rows}</table>"


def publish_batch(report: dict, endpoint_url: str | None) -> str:
    from flows.report import strict_json
    from flows.store import open_store

    store = open_store(report["out"], endpoint_url)
    prefix = f"{BATCHES}/{report['batch_id']}"
    store.put_bytes(f"{prefix}/report.html", render_html(report).encode(), "text/html; charset=utf-8")
    store.put_bytes(f"{prefix}/report.json", strict_json(report).encode(), "application/json")
    return f"{store.url.rstrip('/')}/{prefix}"
