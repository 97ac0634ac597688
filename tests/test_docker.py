"""The docker runtime: same contract and parity as venvs, hardened containers."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from tests.conftest import (
    INPUT_SHAPE,
    MODELFERRY,
    REPO,
    connections,
    copy_checkpoint,
    escape_attempts,
    escape_model,
    files_holding,
    latest_run,
    read_report,
    run_cli,
    snapshot,
)

pytestmark = pytest.mark.docker


def _as_the_cli(docker_env: dict, monkeypatch) -> None:
    """This process sees the home and the engine the CLI of `docker_env` sees (for a DockerRuntime made here)."""
    for name in ("MODELFERRY_HOME", "DOCKER_HOST", "PATH"):
        if name in docker_env:
            monkeypatch.setenv(name, docker_env[name])


def stage_containers() -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=modelferry.stage"], capture_output=True, text=True, check=True
    ).stdout
    return out.split()


@pytest.fixture(scope="session")
def docker_run(docker_env, face, session_dir, example_run):
    out = session_dir / "artifacts-docker"
    args = [a if a != str(example_run["out"]) else str(out) for a in example_run["args"]]
    result = run_cli(docker_env, "convert", *args, "--runtime", "docker")
    assert result.returncode == 0, result.stderr[-5000:]
    return {"out": out, "run": latest_run(out, "face"), "result": result}


def _bundles_made_in_docker(home) -> list[dict]:
    manifests = []
    for manifest in (home / "bundles").glob("*/manifest.json"):
        data = json.loads(manifest.read_text())
        if data.get("provenance", {}).get("runtime", "").startswith("docker:sha256:"):
            manifests.append({"path": manifest.parent, **data})
    return manifests


def test_example_in_containers_has_the_same_parity_as_in_venvs(docker_run, example_run):
    assert "runtime: docker" in docker_run["result"].stderr
    in_docker = {(a["target"], a["precision"]): a["parity"] for a in read_report(docker_run["run"])["artifacts"]}
    in_venv = {(a["target"], a["precision"]): a["parity"] for a in read_report(example_run["run"])["artifacts"]}
    assert in_docker.keys() == in_venv.keys()
    for key, parity in in_docker.items():
        assert parity["passed"], key
        if key[1] in ("fp32", "fp16"):  # same wheels, same arithmetic
            assert abs(parity["max_abs_err"] - in_venv[key]["max_abs_err"]) <= 1e-6, key
            assert abs(parity["cosine"] - in_venv[key]["cosine"]) < 1e-6, key
        else:  # int8 calibration is not bit-reproducible across processes
            assert abs(parity["cosine"] - in_venv[key]["cosine"]) < 5e-3, key


def test_stage_provenance_has_the_image_id_and_outputs_are_not_owned_by_root(docker_run, docker_env):
    from pathlib import Path

    bundles = _bundles_made_in_docker(Path(docker_env["MODELFERRY_HOME"]))
    assert {b["provenance"]["stage"] for b in bundles} >= {"load", "surgery", "export", "emit", "quantize", "validate"}
    for bundle in bundles:
        for path in [bundle["path"], *bundle["path"].rglob("*")]:
            assert path.stat().st_uid != 0, path


def test_a_stage_cannot_reach_the_network(docker_env):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # reachable from the host
        probe = (
            f"import os, socket\n"
            f"print('interfaces', sorted(os.listdir('/sys/class/net')))\n"
            f"try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            f"    print('connected')\n"
            f"except OSError as exc:\n"
            f"    print('refused', exc)\n"
        )
        result = run_cli(docker_env, "runtime", "exec", "--runtime", "docker", "tf", "--", "python", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert "interfaces ['lo']" in result.stdout
    assert "refused" in result.stdout and "connected" not in result.stdout


def test_a_stage_over_its_memory_limit_fails_saying_so(docker_env, face, tmp_path):
    out = tmp_path / "out"
    # TFLite only: its TensorFlow stages cannot fit in 96 MiB (ONNX Runtime's validation now can)
    result = run_cli(
        docker_env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "tflite",
        "--runtime",
        "docker",
        "--stage-memory",
        "96m",
        "--out",
        str(out),
    )
    err = " ".join(result.stderr.split())
    assert result.returncode == 1
    # The first stage that is not cached (limits do not change outputs, so are not in the key).
    assert re.search(r"\[\w+/\w+\] exceeded its memory limit of 96m and was killed", err), err
    assert snapshot(out) == {}
    assert stage_containers() == []


def test_no_container_is_left_after_a_failed_stage(docker_env, face, tmp_path):
    symbol = copy_checkpoint(face, tmp_path / "m")
    params = symbol.with_name("model-0000.params")
    params.write_bytes(params.read_bytes()[:4000])
    result = run_cli(
        docker_env,
        "convert",
        str(symbol),
        "--input-shape",
        INPUT_SHAPE,
        "--runtime",
        "docker",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 1 and "cannot be read (truncated" in result.stderr
    assert stage_containers() == []


def test_no_container_is_left_after_an_interrupted_stage(docker_env, face, tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(
        [
            MODELFERRY,
            "convert",
            str(face / "model-symbol.json"),
            "--input-shape",
            INPUT_SHAPE,
            "--to",
            "onnx",
            "--opset",
            "12",
            "--runtime",
            "docker",
            "--out",
            str(out),
        ],
        env=docker_env,
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(process.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not stage_containers():
        time.sleep(0.2)
    assert stage_containers(), "no stage container started"
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 130, "".join(seen)
    reader.join(5)
    assert stage_containers() == []
    assert snapshot(out) == {}


def test_a_lambda_layer_cannot_escape_a_container(docker_env, tmp_path, listener):
    """The docker runtime, checked for what bubblewrap gives a venv stage: inputs read-only, no network (the
    host's 127.0.0.1 out of reach), nothing else of the host; a link left in /out is not followed."""
    import secrets
    from pathlib import Path

    bundles = Path(docker_env["MODELFERRY_HOME"]) / "bundles"
    marker, canary = tmp_path / "marker", tmp_path / "secret" / "canary.txt"
    marker.mkdir()
    canary.parent.mkdir()
    token = secrets.token_hex(16).encode()
    canary.write_bytes(token)
    host = listener()
    model = tmp_path / "escape_docker.keras"
    escape_model(docker_env, model, marker, [canary], host.port)
    out = tmp_path / "out"
    result = run_cli(
        {**docker_env, "COLUMNS": "100000"},
        "convert",
        str(model),
        "--to",
        "onnx",
        "--trust-custom-code",
        "--runtime",
        "docker",
        "--out",
        str(out),
        "-v",
    )
    output = result.stdout + result.stderr
    tried = escape_attempts(output)
    assert not (marker / "escaped").exists() and tried["marker"].startswith(("FileNotFoundError", "OSError")), tried
    assert connections(host) == [] and not tried["connect"].startswith("done"), tried
    assert tried["canary-0"].startswith("FileNotFoundError"), tried
    assert "Read-only file system" in tried["input"], tried
    assert tried["repository"].startswith("FileNotFoundError"), tried
    assert re.search(r"\[load/keras\] wrote leak-0 as a link to \S+, outside its output: refused", output), output[
        -2000:
    ]
    assert result.returncode == 1 and token.decode() not in output
    assert files_holding(out, token) == [] and files_holding(bundles, token) == []


def test_an_image_removed_under_a_run_is_a_plain_failure_not_a_traceback(docker_env):
    """A run planned with one build of a runtime image, then another build prunes it (a code update during a
    batch): the stage fails saying so, with the image's tag, instead of docker's ImageNotFound traceback.
    (Images younger than flows.images.PRUNE_AFTER are not pruned, so this takes a long-running run.)"""
    from flows.errors import StageFailed
    from flows.runtimes.docker import DockerRuntime

    engine = DockerRuntime()
    engine._tags["tf"] = "modelferry/tf:0000000000000000"  # as planned; the engine has no such image now
    with pytest.raises(StageFailed, match=r"its image modelferry/tf:0000000000000000 is gone \(ImageNotFound\)"):
        engine.identity("tf")


def test_stages_of_a_runtime_share_one_warm_container_and_none_opens_anothers_folder(
    docker_env, tmp_path, listener, monkeypatch
):
    """Under docker a runtime's stages are forks of one warm container's worker (flows/runtimes/docker_warm.py),
    each under a uid of its own with no capability. A Lambda layer run by load/keras in the tf runtime's
    container, beside a folder made as the runtime makes another stage's (its gid's alone, its output its
    uid's alone, a secret in it): the stages' folder cannot be listed, the other stage's output is neither read
    nor written, the process is a warm fork with no capability, and nothing of the host is reached."""
    import os
    import secrets

    from flows.errors import StageFailed
    from flows.runtimes.base import Invocation
    from flows.runtimes.docker import DockerRuntime
    from flows.source import resolve

    _as_the_cli(docker_env, monkeypatch)
    marker, canary = tmp_path / "marker", tmp_path / "secret" / "canary.txt"
    marker.mkdir()
    canary.parent.mkdir()
    token = secrets.token_hex(16)
    canary.write_text(token)
    host = listener()
    model = tmp_path / "escape_warm.keras"
    escape_model(docker_env, model, marker, [canary], host.port)
    runtime = DockerRuntime()
    container = runtime._warm._container("tf")
    assert container is not None, "the tf runtime got no warm container"
    other = container.root / "999"
    (other / "out").mkdir(parents=True)
    (other / "out" / "secret").write_text(token)
    os.chown(other, 0, 20999)
    os.chmod(other, 0o750)
    for path, mode in ((other / "out", 0o700), (other / "out" / "secret", 0o600)):
        os.chown(path, 20999, 20999)
        os.chmod(path, mode)

    bundle = resolve(model).bundle()
    invocation = Invocation("load", "keras", "tf", {"trust_custom_code": True}, [bundle], tmp_path / "loaded")
    with pytest.raises(StageFailed) as failed:  # the links it leaves in its output are refused
        runtime.run(invocation)
    said = str(failed.value) + "\n" + failed.value.log_tail
    tried = escape_attempts(said)
    assert tried["process"] == "warm", tried
    assert tried["capabilities"].startswith("0000000000000000/"), tried
    assert tried["stages"].startswith("PermissionError"), tried
    assert tried["other stage"].startswith("PermissionError"), tried
    assert tried["other stage write"].startswith("PermissionError"), tried
    assert "Read-only file system" in tried["input"], tried
    assert tried["canary-0"].startswith("FileNotFoundError") and tried["repository"].startswith("FileNotFoundError")
    assert not (marker / "escaped").exists() and connections(host) == []
    assert token not in said and sorted(p.name for p in (other / "out").iterdir()) == ["secret"]
    container.worker.stop()
    assert not container.root.exists()


def test_a_timeout_ends_a_warm_stage_not_its_container(docker_run, docker_env, tmp_path, monkeypatch):
    """A stage in a warm container over its time limit is killed (with its process group, inside the
    container); the container's worker lives on and runs the next stage warm."""
    from pathlib import Path

    from flows.config import Gates
    from flows.errors import StageFailed
    from flows.runtimes.base import Invocation
    from flows.runtimes.docker import DockerRuntime

    _as_the_cli(docker_env, monkeypatch)
    exported = sorted(  # an ONNX model with its samples and golden outputs (other tests may have made more)
        b["path"]
        for b in _bundles_made_in_docker(Path(docker_env["MODELFERRY_HOME"]))
        if b["provenance"]["stage"] == "export" and b.get("format") == "onnx"
    )[0]
    runtime = DockerRuntime()

    def validate(out: Path, timeout_s: float = 600.0) -> dict:
        config = {"gates": Gates().model_dump()}
        runtime.run(Invocation("validate", "onnx", "tf", config, [exported], out, timeout_s=timeout_s, cores=(0,)))
        return json.loads((out / "manifest.json").read_text())

    assert validate(tmp_path / "first")["provenance"]["process"] == "warm"
    container = runtime._warm._container("tf")
    with pytest.raises(StageFailed, match=r"\[validate/onnx\] timed out"):
        validate(tmp_path / "late", timeout_s=0.001)
    assert validate(tmp_path / "again")["provenance"]["process"] == "warm"
    assert runtime._warm._container("tf") is container and not container.worker.broken
    container.worker.stop()
    assert stage_containers() == []


def test_what_a_killed_run_left_in_docker_is_swept_by_the_next(docker_env, face, tmp_path, monkeypatch):
    """A conversion killed outright (SIGKILL: no exit handler runs) leaves its containers and its warm
    containers' folders; the next process that starts a warm container removes them (a dead process's only:
    by host and pid)."""
    import os
    from pathlib import Path

    from flows.runtimes.docker import DockerRuntime

    _as_the_cli(docker_env, monkeypatch)
    warm_folders = Path(docker_env["MODELFERRY_HOME"]) / "warm-docker"

    def left() -> list[str]:
        found = subprocess.run(
            ["docker", "ps", "-aq", "--filter", "label=modelferry.warm"], capture_output=True, text=True, check=True
        )
        return found.stdout.split()

    process = subprocess.Popen(
        [MODELFERRY, "convert", str(face / "model-symbol.json"), "--input-shape", INPUT_SHAPE, "--to", "onnx"]
        + ["--runtime", "docker", "--out", str(tmp_path / "out")],
        env=docker_env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not left():
        time.sleep(0.2)
    orphans = left()
    assert orphans, "no warm container started"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    theirs = [f for f in warm_folders.glob("*-*") if (f / "owner.json").is_file()]
    assert theirs and set(orphans) <= set(left())

    runtime = DockerRuntime()
    container = runtime._warm._container("tf")
    assert container is not None
    assert not set(orphans) & set(left())
    assert not any(folder.exists() for folder in theirs) and container.root.is_dir()
    container.worker.stop()
    assert stage_containers() == []
