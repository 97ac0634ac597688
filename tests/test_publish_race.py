"""Publishing while other processes publish and sweep the same model in the same store (a local folder, and
S3 on a moto server): nothing raises, every finished run keeps all its files, nothing half-written stays, and
latest.json names the newest run. (CI once failed here: a sweep read the marker of a run whose publisher
removed it that moment, and before that a sweep could delete a run that had just finished.)"""

from __future__ import annotations

import copy
import json
import multiprocessing
import traceback
from pathlib import Path

import boto3

from flows.publish import FINISHED, MARKER, publish, sweep
from flows.store import open_store
from flows.store.local import LocalStore
from tests.test_report_schema import REPORT

RUNS = 40


def _publisher(url: str, endpoint: str | None, tag: int, errors) -> None:
    try:
        store = open_store(url, endpoint)
        for n in range(RUNS):
            report = copy.deepcopy(REPORT)
            report["run_id"] = f"20260101T0000{n:02d}Z-abcd1234-{tag:06d}"
            publish(store, report, [], "onnx:" + "0" * 64)
    except Exception:
        errors.put(traceback.format_exc())


def _sweeper(url: str, endpoint: str | None, stop, errors) -> None:
    try:
        store = open_store(url, endpoint)
        while not stop.is_set():
            sweep(store, "face")
    except Exception:
        errors.put(traceback.format_exc())


def _race(url: str, endpoint: str | None = None) -> None:
    context = multiprocessing.get_context("fork")
    errors, stop = context.Queue(), context.Event()
    publishers = [context.Process(target=_publisher, args=(url, endpoint, tag, errors)) for tag in (1, 2)]
    sweeper = context.Process(target=_sweeper, args=(url, endpoint, stop, errors))
    for process in [*publishers, sweeper]:
        process.start()
    for process in publishers:
        process.join(300)
    stop.set()
    sweeper.join(60)
    failures = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert not failures, failures[0]
    assert [p.exitcode for p in [*publishers, sweeper]] == [0, 0, 0]

    store = open_store(url, endpoint)
    runs: dict[str, set[str]] = {}
    for key in store.list("face/"):
        parts = key.split("/")
        if len(parts) == 3:
            runs.setdefault(parts[1], set()).add(parts[2])
    assert len(runs) == 2 * RUNS
    for run_id, names in runs.items():
        assert names == {"report.json", "report.html", FINISHED}, (run_id, names)
        assert json.loads(store.get_bytes(f"face/{run_id}/{FINISHED}"))["run_id"] == run_id
    assert json.loads(store.get_bytes("face/latest.json"))["run_id"] == max(runs)
    assert sweep(store, "face") == []


def test_two_publishers_and_a_sweeper_at_once_leave_every_finished_run_whole(tmp_path):
    _race(str(tmp_path))


def test_the_same_on_s3(moto_server, monkeypatch):
    endpoint = moto_server()
    for name, value in [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")]:
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="race")
    _race("s3://race/prod", endpoint)


def test_a_run_left_without_its_publisher_is_still_swept(tmp_path):
    store = LocalStore(tmp_path)
    store.put_bytes("face/20200101T000000Z-00000000-000000/face.onnx", b"half")
    store.put_bytes(
        "face/20200101T000000Z-00000000-000000/" + MARKER, json.dumps({"host": "x", "started_at": 0}).encode()
    )
    store.put_bytes("face/20200101T000001Z-00000000-000001/face.onnx", b"no marker")
    assert sweep(store, "face") == ["20200101T000000Z-00000000-000000", "20200101T000001Z-00000000-000001"]
    assert not Path(tmp_path / "face").exists()
