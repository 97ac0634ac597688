"""Publish a run: artifacts that passed their gate, the reports, then the run manifest last.

Layout: <out>/<model>/<run_id>/{artifacts, report.json, report.html, run.json}
and <out>/<model>/latest.json pointing at the newest passed run. Each run has
its own prefix, so earlier artifacts at the same --out are never overwritten;
a run without run.json is unfinished.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from flows.routes import Made
from flows.report_html import render
from flows.store import Store


def put(store: Store, key: str, path: Path) -> None:
    """A file, or a directory artifact (SavedModel, TFJS) file by file under `key/`."""
    if not path.is_dir():
        store.put_file(key, path)
        return
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        store.put_file(f"{key}/{file.relative_to(path).as_posix()}", file)


def publish(store: Store, report: dict, results: list[Made]) -> str:
    prefix = f"{report['model']}/{report['run_id']}"
    published = {}
    for result, entry in zip(results, report["artifacts"]):
        if entry["published"]:
            put(store, f"{prefix}/{entry['path']}", result.artifact.file("model"))
            published[entry["path"]] = entry["sha256"]
    report_json = json.dumps(report, indent=2, sort_keys=True).encode()
    store.put_bytes(f"{prefix}/report.json", report_json, "application/json")
    store.put_bytes(f"{prefix}/report.html", render(report).encode(), "text/html; charset=utf-8")
    run = {"run_id": report["run_id"], "status": report["status"], "files": published,
           "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    store.put_bytes(f"{prefix}/run.json", json.dumps(run, indent=2).encode(), "application/json")
    if report["status"] == "passed":
        latest = {"run_id": report["run_id"], "prefix": prefix, "files": sorted(published)}
        store.put_bytes(f"{report['model']}/latest.json", json.dumps(latest, indent=2).encode(),
                        "application/json")
    return prefix
