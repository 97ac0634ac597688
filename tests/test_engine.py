"""Prefect as the engine: modelferry's own long-running server, the DAG's branches side by side under a
CPU budget, and runs that stay correct when they overlap."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import (
    INPUT_SHAPE,
    MODELFERRY,
    REPO,
    convert_zoo,
    copy_checkpoint,
    free_port,
    latest_run,
    own_home,
    processes_under,
    read_report,
    run_cli,
    snapshot,
    strict,
)


def api(url: str, path: str, body: dict | None = None) -> object:
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def face_args(face: Path, out: Path, *extra: str) -> list[str]:
    return ["convert", str(face / "model-symbol.json"), "--input-shape", INPUT_SHAPE, "--out", str(out), *extra]


def test_the_server_outlives_a_call_and_every_conversion_uses_it(env, face, tmp_path):
    """`modelferry server start` runs Prefect on 127.0.0.1 in the background; a conversion finds it (no
    server of its own), its flow run is recorded there, and `stop` ends it. Without a server, `convert`
    starts one and leaves it running for the next call."""
    home = own_home(env, tmp_path / "home")
    port = free_port()
    started = run_cli(home, "server", "start", "--port", str(port), timeout=300)
    assert started.returncode == 0, started.stderr[-3000:]
    url = f"http://127.0.0.1:{port}/api"
    try:
        status = run_cli(home, "server", "status")
        assert status.returncode == 0 and f"http://127.0.0.1:{port}" in status.stderr
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            assert response.status == 200

        result = run_cli(home, *face_args(face, tmp_path / "out", "--to", "onnx"))
        assert result.returncode == 0, result.stderr[-3000:]
        assert "starting a Prefect server" not in result.stderr
        runs = api(url, "/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}})
        assert [r for r in runs if r["name"]], "the conversion's flow run is not on the server"
        flows = {f["id"]: f["name"] for f in api(url, "/flows/filter")}
        assert {flows[r["flow_id"]] for r in runs} == {"convert"}
        (artifact,) = api(url, "/artifacts/filter", {"artifacts": {"key": {"any_": ["convert-face"]}}})
        report = read_report(latest_run(tmp_path / "out", "face"))
        assert artifact["type"] == "markdown" and artifact["flow_run_id"] == runs[0]["id"]
        assert f"| onnx | fp32 | passed | {report['artifacts'][0]['parity']['max_abs_err']:.3g} |" in artifact["data"]
        assert (latest_run(tmp_path / "out", "face") / "report.html").as_uri() in artifact["data"]
    finally:
        stopped = run_cli(home, "server", "stop")
    assert stopped.returncode == 0 and f"port {port}" in stopped.stderr
    assert run_cli(home, "server", "status").returncode == 1
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/health", timeout=3)

    # no server: the conversion starts one, which is still there for the next call
    result = run_cli(home, *face_args(face, tmp_path / "out", "--to", "onnx"), timeout=600)
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "starting a Prefect server" in result.stderr
        assert run_cli(home, "server", "status").returncode == 0
    finally:
        run_cli(home, "server", "stop")


def test_a_prefect_api_url_that_does_not_answer_is_a_clear_error(env, face, tmp_path):
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=f"http://127.0.0.1:{free_port()}/api")
    out = tmp_path / "out"
    result = run_cli(home, *face_args(face, out, "--to", "onnx"))
    assert result.returncode == 1
    assert "does not answer" in result.stderr and "PREFECT_API_URL" in result.stderr
    assert not out.exists()


def _intervals(report: dict) -> list[tuple[float, float, str, tuple]]:
    return [
        (s["started_at"], s["started_at"] + s["seconds"], f"{s['stage']}/{s['impl']} {s['label']}", tuple(s["cores"]))
        for s in report["stages"]
        if "started_at" in s
    ]


def _overlaps(report: dict) -> list[tuple]:
    spans = _intervals(report)
    return [(a, b) for i, a in enumerate(spans) for b in spans[i + 1 :] if a[0] < b[1] - 0.05 and b[0] < a[1] - 0.05]


def test_a_cold_conversion_begins_its_first_stage_before_its_flow_run(env, face, tmp_path):
    """While the CLI imports Prefect, the run's load stage is already running (flows/early.py): it started
    before the flow run did, and its task run is on the server like any stage's; the runtime line is said
    once. A re-run, its load cached, begins nothing ahead."""
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"])
    url, out = env["PREFECT_API_URL"], tmp_path / "out"
    result = run_cli(home, *face_args(face, out, "--to", "onnx"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("runtime: ") == 1
    load = next(s for s in read_report(latest_run(out, "face"))["stages"] if s["stage"] == "load")
    assert not load["cached"]
    (run,) = api(url, "/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 1})
    began = datetime.fromisoformat(run["start_time"].replace("Z", "+00:00")).timestamp()
    assert load["started_at"] < began, (load, run["start_time"])
    tasks = api(url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})
    assert {t["name"].strip(): t["state_type"] for t in tasks}.get("load/mxnet") == "COMPLETED", tasks
    again = run_cli(home, *face_args(face, out, "--to", "onnx"))
    assert again.returncode == 0 and "✓ load/mxnet cached" in again.stderr and "▶" not in again.stderr


def test_a_first_stage_begun_ahead_ends_with_a_run_that_fails_before_it(env, face, tmp_path):
    """The flow fails before it reaches the stage begun ahead (PREFECT_API_URL does not answer): the command
    says why and nothing more, and the stage is ended; its half-made bundle is not left in the cache.

    The URL's port listens and never replies until the stage has begun; then it is closed, so the check
    fails while the stage runs (a port that refuses at once could fail the check before the stage begins)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        home = own_home(env, tmp_path / "home", PREFECT_API_URL=f"http://127.0.0.1:{silent.getsockname()[1]}/api")
        process = subprocess.Popen(
            [MODELFERRY, *face_args(face, tmp_path / "out", "--to", "onnx")],
            env=home,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "▶ load/mxnet" in line:
                break
        silent.close()
    lines += process.stderr.readlines()
    stderr = "".join(lines)
    assert process.wait(timeout=300) == 1, stderr[-3000:]
    assert "▶ load/mxnet" in stderr and "does not answer" in stderr, stderr[-3000:]
    assert "✗" not in stderr and "✓" not in stderr, stderr[-3000:]
    assert not list((Path(home["MODELFERRY_HOME"]) / "bundles").glob(".tmp-*"))


def test_a_stage_killed_from_outside_is_retried_by_prefect(env, face, tmp_path):
    """A stage process killed with SIGKILL by something else (the kernel's OOM killer; here, this test) is not
    failed by its inputs: its Prefect task retries it, and the run publishes. The stage is found on this
    machine as a process (a venv's, or a container's seen from the host) and killed once."""
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"], MODELFERRY_WARM="off")
    process = subprocess.Popen(
        [MODELFERRY, *face_args(face, tmp_path / "out", "--to", "onnx", "--profile", "0")],
        env=home,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline, victim = time.monotonic() + 300, None
    while victim is None and time.monotonic() < deadline and process.poll() is None:
        found = subprocess.run(
            ["pgrep", "-f", "--", "-m stages load mxnet"], capture_output=True, text=True
        ).stdout.split()
        if found:
            victim = int(found[0])
            time.sleep(0.5)  # inside its work, not in its first instruction
            os.kill(victim, signal.SIGKILL)
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=600)
    assert victim is not None, stderr[-3000:]
    assert process.returncode == 0, stderr[-3000:]
    assert "killed (SIGKILL) from outside the stage" in stderr and "✓ load/mxnet" in stderr, stderr[-3000:]
    (run,) = api(env["PREFECT_API_URL"], "/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 1})
    tasks = api(env["PREFECT_API_URL"], "/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})
    (load,) = [t for t in tasks if t["name"].strip() == "load/mxnet"]
    assert load["state_type"] == "COMPLETED" and load["run_count"] == 2, load


@pytest.mark.slow
def test_branches_run_side_by_side_within_the_cpu_budget(env, face, tmp_path):
    """Each target's emit → quantize → validate chain is a branch: with --jobs 2 on separate cores, branches
    overlap and no two stages at once share a core; with --jobs 1 no two stages overlap. The same files
    (a SavedModel's own fingerprint differs from one save to the next)."""
    args = ("--to", "onnx,tflite,savedmodel", "--quantize", "fp16,dynamic")
    reports = {}
    for jobs in (1, 2):
        home = own_home(env, tmp_path / f"home{jobs}", PREFECT_API_URL=env["PREFECT_API_URL"])
        out = tmp_path / f"out{jobs}"
        result = run_cli(home, *face_args(face, out, *args, "--jobs", str(jobs), "--stage-cpus", "1"))
        assert result.returncode == 0, result.stderr[-3000:]
        reports[jobs] = read_report(latest_run(out, "face"))
    assert not _overlaps(reports[1])
    side_by_side = _overlaps(reports[2])
    assert side_by_side, "no two branches ran at once with --jobs 2"
    assert all(not set(a[3]) & set(b[3]) for a, b in side_by_side), side_by_side
    assert all(len(span[3]) == 1 for span in _intervals(reports[2]))
    files = [
        {a["path"]: a["sha256"] for a in reports[jobs]["artifacts"] if a["target"] != "savedmodel"} for jobs in (1, 2)
    ]
    assert files[0] == files[1] and len(files[0]) == 4


def test_a_failed_branch_stops_only_what_depends_on_it(env, tmp_path):
    """basic-pitch's ONNX held to onnx2tf 1 (--via onnx2tf --no-fallback), which crashes on it (onnx2tf 2's direct
    writer, the route preferred now, converts it): the TFLite branch fails,
    the ONNX branch still validates and is published; the run exits 1 and the report says which target
    failed and why."""
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"])  # nothing cached yet
    result, report = convert_zoo(
        home, "basic-pitch-onnx", tmp_path / "out", "--to", "onnx,tflite", "--no-fallback", "--via", "onnx2tf"
    )
    assert result.returncode == 1
    assert report["status"] == "failed" and report["failed_targets"] == ["tflite/fp32"]
    onnx, tflite = report["artifacts"]
    assert onnx["published"] and onnx["parity"]["passed"]
    assert not tflite["published"] and "onnx2tf could not convert the model" in tflite["reason"]
    assert "✗ tflite/fp32" in result.stderr
    (failed,) = report["failed_stages"]
    assert (failed["stage"], failed["impl"], failed["cached"]) == ("emit", "onnx2tf", False)

    # the stage said why it failed: on the same inputs it would again, so a re-run does not run it
    again, report = convert_zoo(
        home, "basic-pitch-onnx", tmp_path / "out", "--to", "onnx,tflite", "--no-fallback", "--via", "onnx2tf"
    )
    assert again.returncode == 1 and "▶" not in again.stderr
    assert report["failed_stages"][0]["cached"] and report["failed_stages"][0]["reason"] == failed["reason"]


def test_two_identical_runs_at_once_share_the_work_and_neither_corrupts_the_other(env, face, tmp_path):
    """Two CLI calls with one cache and one store, at the same moment: each stage runs once (the second
    waits for the first's bundle), both runs are published under their own ids, every published file
    matches its report, latest.json names one of them, and each report is strict JSON."""
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"])
    out = tmp_path / "out"
    argv = [MODELFERRY, *face_args(face, out, "--to", "onnx,tflite", "--quantize", "fp16")]
    calls = [
        subprocess.Popen(argv, env=home, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [call.communicate(timeout=900) for call in calls]
    assert all(call.returncode == 0 for call in calls), [err[-2000:] for _, err in outputs]
    runs = sorted(p for p in (out / "face").iterdir() if p.is_dir())
    assert len(runs) == 2
    started = sum(err.count("▶") for _, err in outputs)
    assert started == len(
        [s for s in read_report(runs[0])["stages"] + read_report(runs[1])["stages"] if not s["cached"]]
    )
    assert started == len(read_report(runs[0])["stages"])  # every stage ran in one of the two, once
    for run in runs:
        report = strict((run / "report.json").read_text())
        for artifact in report["artifacts"]:
            assert (run / artifact["path"]).is_file()
        assert json.loads((run / "run.json").read_text())["status"] == "passed"
    assert strict((out / "face" / "latest.json").read_text())["run_id"] in {r.name for r in runs}
    bundles = Path(home["MODELFERRY_HOME"]) / "bundles"
    assert not [p for p in bundles.iterdir() if p.name.startswith(".tmp-")]  # no scratch left behind


def test_a_model_name_belongs_to_one_source(env, face, tmp_path):
    """Every insightface checkpoint is model-symbol.json: in the store each is named by its folder. Another
    source whose folder has the same name is refused before any work (nothing published) until it is
    given its own --name. The source is copied into the cache: rewriting it in place changes no bundle."""
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"])
    out = tmp_path / "out"
    first = copy_checkpoint(face, tmp_path / "a" / "r100")
    other = copy_checkpoint(face, tmp_path / "b" / "r100")
    result = run_cli(home, "convert", str(first), "--input-shape", INPUT_SHAPE, "--to", "onnx", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert strict((out / "r100" / "model.json").read_text())["source"] == str(first.resolve())

    before = snapshot(out)
    refused = run_cli(home, "convert", str(other), "--input-shape", INPUT_SHAPE, "--to", "onnx", "--out", str(out))
    assert refused.returncode == 1 and "▶" not in refused.stderr
    assert "the name 'r100' belongs to another model" in refused.stderr and "--name" in refused.stderr
    assert snapshot(out) == before
    named = run_cli(
        home, "convert", str(other), "--input-shape", INPUT_SHAPE, "--to", "onnx", "--out", str(out), "--name", "r100-b"
    )
    assert named.returncode == 0, named.stderr[-3000:]
    assert read_report(latest_run(out, "r100-b"))["model"] == "r100-b"

    params = first.with_name("model-0000.params")
    (cached,) = [
        p
        for p in (Path(home["MODELFERRY_HOME"]) / "bundles").glob("source-*/model-0000.params")
        if p.read_bytes() == params.read_bytes()
    ]
    assert cached.stat().st_ino != params.stat().st_ino
    original = cached.read_bytes()
    with open(params, "r+b") as file:  # rewritten in place, as a training job does
        file.write(b"\0" * 64)
    assert cached.read_bytes() == original


def test_a_publish_interrupted_midway_is_swept_by_the_next_run(env, face, tmp_path):
    """What a killed publisher leaves (files of a run without run.json, its publishing.json naming a process
    that is gone) is removed by the next run of that model; finished runs and a live publisher's are kept."""
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"])
    out = tmp_path / "out"
    args = face_args(face, out, "--to", "onnx")
    assert run_cli(home, *args).returncode == 0
    finished = latest_run(out, "face")
    dead = subprocess.Popen(["true"])
    dead.wait()
    unfinished = out / "face" / "20200101T000000Z-00000000-000000"
    unfinished.mkdir()
    shutil.copyfile(finished / "face.onnx", unfinished / "face.onnx")
    (unfinished / "publishing.json").write_text(
        json.dumps({"host": os.uname().nodename, "pid": dead.pid, "started_at": time.time()})
    )
    live = out / "face" / "20200101T000001Z-00000000-000001"
    live.mkdir()
    (live / "publishing.json").write_text(
        json.dumps({"host": os.uname().nodename, "pid": os.getpid(), "started_at": time.time()})
    )

    result = run_cli(home, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "removed 1 unfinished run(s) of face" in " ".join(result.stderr.split())
    assert not unfinished.exists() and live.is_dir() and (finished / "run.json").is_file()


def test_sigterm_ends_every_running_stage_and_publishes_nothing(env, face, tmp_path):
    """SIGTERM to a conversion while its branches run: every stage process (and what each started) is gone
    within seconds, the run exits 130, and nothing is published. (Under the venv runtime, where stages are
    processes of this machine; a container is removed by the same path.)"""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"], TMPDIR=str(scratch))
    out = tmp_path / "out"
    call = subprocess.Popen(
        [
            MODELFERRY,
            *face_args(face, out, "--to", "onnx,tflite,savedmodel", "--quantize", "fp16", "--runtime", "venv"),
        ],
        env=home,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = []  # the CLI's lines up to the start of a converter's stage (a warm stage is a fork of its worker,
    for line in call.stderr:  # whose command line it keeps: the progress line says when it starts)
        said.append(line)
        if line.startswith("▶ emit/"):
            break
    assert call.poll() is None and any(line.startswith("▶ emit/") for line in said), "".join(said)[-3000:]
    time.sleep(1)
    assert processes_under(scratch), "no stage process is running"
    call.send_signal(signal.SIGTERM)
    _, err = call.communicate(timeout=60)
    assert call.returncode == 130, err[-3000:]
    assert "nothing was published" in err
    time.sleep(1)
    assert processes_under(scratch) == []
    assert not out.exists() or not list(out.rglob("run.json"))


def test_a_stage_that_times_out_is_ended_with_everything_it_started(env, face, tmp_path):
    """--stage-timeout shorter than onnx2tf 1 takes (1 s, warm): the stage is ended with its whole process group,
    the run says which stage timed out, and nothing it started is left running."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"], TMPDIR=str(scratch))
    out = tmp_path / "out"
    result = run_cli(
        home,
        *face_args(
            face,
            out,
            "--to",
            "tflite",
            "--no-fallback",
            "--runtime",
            "venv",
            "--via",
            "onnx2tf",
            "--stage-timeout",
            "1",
        ),
    )
    assert result.returncode == 1
    assert "timed out after 1s" in " ".join(result.stderr.split())
    assert processes_under(scratch) == []
