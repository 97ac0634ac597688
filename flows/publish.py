"""Publish a run: artifacts that passed their gate, the reports, then the run manifest last.

Layout: <out>/<model>/<run_id>/{artifacts, report.json, report.html, run.json}, <out>/<model>/latest.json
pointing at the newest passed run, and <out>/<model>/model.json saying which source owns the name.

- Each run has its own prefix, so earlier artifacts at the same --out are never overwritten.
- A run is finished when its run.json is there. While it is published, publishing.json says by whom;
  the next run of the model removes a run that has neither run.json nor a live publisher (a publish
  interrupted midway), so nothing half-written stays behind looking like a result.
- latest.json moves by compare-and-swap (a lock file locally, S3's conditional writes), and only
  forward: two runs finishing together never leave it on the older one.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

from flows import progress
from flows.report import strict_json
from flows.report_html import render
from flows.routes import Made
from flows.server import pid_alive
from flows.store import Store, check_name

MARKER = "publishing.json"
FINISHED = "run.json"
STALE_S = 6 * 3600  # a publisher on another machine that has not finished in this long is gone


def put(store: Store, key: str, path: Path) -> None:
    """A file, or a directory artifact (SavedModel, TFJS) file by file under `key/`."""
    if not path.is_dir():
        store.put_file(key, path)
        return
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        store.put_file(f"{key}/{file.relative_to(path).as_posix()}", file)


def _claim_name(store: Store, model: str, origin: str) -> None:
    claim = json.dumps({"name": model, "source": origin}, indent=2).encode()
    if not store.swap(f"{model}/model.json", claim, None):
        check_name(store, model, origin)  # there already: ours, or another source's that came first


def _alive_here(marker: dict) -> bool:
    if marker.get("host") != socket.gethostname():
        return time.time() - marker.get("started_at", 0) < STALE_S
    try:
        return pid_alive(int(marker["pid"]))
    except (KeyError, ValueError):
        return False


def sweep(store: Store, model: str) -> list[str]:
    """Remove the runs of `model` whose publishing was interrupted; returns their ids."""
    runs: dict[str, list[str]] = {}
    for key in store.list(f"{model}/"):
        parts = key.split("/")
        if len(parts) > 2:
            runs.setdefault(parts[1], []).append(key)
    removed = []
    for run_id, keys in sorted(runs.items()):
        if FINISHED not in {key.split("/", 2)[2] for key in keys} and _abandoned(store, f"{model}/{run_id}"):
            store.delete(sorted(keys, key=lambda k: k.endswith(MARKER)))  # the marker last
            removed.append(run_id)
    return removed


def _abandoned(store: Store, prefix: str) -> bool:
    """No run.json and no live publisher, read now: the listing is older, and a publisher that finished since
    has written its run.json before it removed its marker."""
    marker = store.get_bytes(f"{prefix}/{MARKER}")
    if store.get_bytes(f"{prefix}/{FINISHED}") is not None:
        return False
    if marker is None:
        return True  # no publisher ever wrote here, or another sweep is removing it
    try:
        return not _alive_here(json.loads(marker))
    except ValueError:
        return True


def _move_latest(store: Store, model: str, run_id: str, prefix: str, files: list[str]) -> None:
    latest = json.dumps({"run_id": run_id, "prefix": prefix, "files": files}, indent=2).encode()
    key = f"{model}/latest.json"
    while True:
        current, version = store.get_versioned(key)
        if current is not None and json.loads(current).get("run_id", "") > run_id:
            return  # a newer run finished first: it stays the latest
        if store.swap(key, latest, version):
            return


def published_files(report: dict, results: list[Made]) -> dict[str, Path]:
    """Each artifact that passed its gate: its name in the store -> its file (or folder) in the cache. A run
    that failed as a whole publishes its report without results: nothing."""
    if not results:
        return {}
    return {
        entry["path"]: made.artifact.file("model")
        for made, entry in zip(results, report["artifacts"], strict=True)
        if entry["published"] and made.artifact is not None
    }


def publish(store: Store, report: dict, results: list[Made], origin: str, claim: bool = True) -> str:
    """The run's passed artifacts and its reports. `claim`: take the model's name for this source (a run that
    failed before making anything publishes its report only, and claims nothing)."""
    model = report["model"]
    if claim:
        _claim_name(store, model, origin)
    cleaned = sweep(store, model)
    if cleaned:
        progress.reporter.note(
            f"removed {len(cleaned)} unfinished run(s) of {model} left by an interrupted publish: {', '.join(cleaned)}"
        )
    prefix = f"{model}/{report['run_id']}"
    marker = {"host": socket.gethostname(), "pid": os.getpid(), "started_at": time.time()}
    store.put_bytes(f"{prefix}/{MARKER}", json.dumps(marker).encode(), "application/json")
    for path, local in published_files(report, results).items():
        put(store, f"{prefix}/{path}", local)
    published = {a["path"]: a["sha256"] for a in report["artifacts"] if a["published"]}
    store.put_bytes(f"{prefix}/report.html", render(report).encode(), "text/html; charset=utf-8")
    store.put_bytes(f"{prefix}/report.json", strict_json(report).encode(), "application/json")
    run = {
        "run_id": report["run_id"],
        "status": report["status"],
        "files": published,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    store.put_bytes(f"{prefix}/{FINISHED}", json.dumps(run, indent=2).encode(), "application/json")
    store.delete([f"{prefix}/{MARKER}"])
    if report["status"] == "passed":
        _move_latest(store, model, report["run_id"], prefix, sorted(published))
    return prefix
