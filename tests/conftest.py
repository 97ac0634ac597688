"""Fixtures: real runtimes, a real Prefect server, a real S3 endpoint, all on 127.0.0.1.

The runtimes' virtualenvs are shared with the user's cache (they are made
from the lock files and never change); bundles, Prefect's home and the
stores are per test session.
"""

from __future__ import annotations

import base64
import inspect
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.zoo import fetch
from bench.zoo.catalog import BY_NAME
from flows.report_schema import Report

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODELFERRY = str(BIN / "modelferry")
INPUT_SHAPE = "data:1,3,112,112"


def pytest_collection_modifyitems(config, items):
    """The layers of the suite, as markers (pyproject.toml): a test that needs the session's Prefect server
    and runtimes (the `env` fixture, which every model-building fixture needs) is `e2e`, `zoo` too where it
    converts a model of the real-model zoo (convert_zoo), `docker` where it needs the images built
    (docker_env); a test that makes a runtime without them says `e2e` itself. Every other test is `unit`: no
    runtime, no server, no conversion (`make unit`, under a minute)."""
    for item in items:
        if "env" in item.fixturenames or item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.e2e)
            if "convert_zoo(" in inspect.getsource(item.function):
                item.add_marker(pytest.mark.zoo)
            if "docker_env" in item.fixturenames:
                item.add_marker(pytest.mark.docker)
        else:
            item.add_marker(pytest.mark.unit)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds}s")


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("modelferry")


@pytest.fixture(scope="session")
def env(session_dir) -> dict[str, str]:
    """Environment for every CLI run: own cache of bundles, own Prefect, shared venvs."""
    home = session_dir / "home"
    home.mkdir()
    shared_venvs = Path(os.environ.get("MODELFERRY_HOME") or Path.home() / ".cache" / "modelferry") / "venvs"
    shared_venvs.mkdir(parents=True, exist_ok=True)
    (home / "venvs").symlink_to(shared_venvs)
    prefect_home = session_dir / "prefect"
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AWS_"))}
    base.update(
        MODELFERRY_HOME=str(home),
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{prefect_home}/prefect.db",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    server_log = open(session_dir / "prefect-server.log", "wb")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=base,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", 120, server)
        base["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
        yield base
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        server_log.close()


def run_cli(env: dict, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    return subprocess.run([MODELFERRY, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def in_runtime(env: dict, image: str, *argv: str) -> None:
    """Run a helper inside a stage runtime (the product's own `runtime exec`)."""
    result = run_cli(env, "runtime", "exec", image, "--", "python", *argv)
    assert result.returncode == 0, result.stderr[-3000:]


def escape_model(env: dict, model: Path, marker: Path, canaries: list[Path], port: int) -> Path:
    """A Keras model whose Lambda layer tries to escape the stage that loads it
    (tests/helpers/make_keras_lambda_escape.py), built in the tf runtime."""
    in_runtime(
        env,
        "tf",
        "tests/helpers/make_keras_lambda_escape.py",
        str(model),
        "--marker",
        str(marker),
        *(word for canary in canaries for word in ("--canary", str(canary))),
        "--port",
        str(port),
        "--repository",
        str(REPO),
    )
    return model


def processes_under(folder: Path) -> list[int]:
    """The processes of this machine whose working folder lies under `folder`."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(folder) in os.readlink(proc / "cwd"):
                    found.append(int(proc.name))
            except OSError:
                pass
    return found


def own_home(env: dict, path: Path, **extra) -> dict:
    """A fresh MODELFERRY_HOME (empty bundle cache) sharing the runtimes' venvs; no PREFECT_API_URL."""
    path.mkdir(parents=True)
    (path / "venvs").symlink_to(Path(env["MODELFERRY_HOME"], "venvs").resolve())
    fresh = {k: v for k, v in env.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}
    return {**fresh, "MODELFERRY_HOME": str(path), **extra}


def strict(text: str):
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="session")
def face(env, session_dir) -> Path:
    """The bundled example, built by its script in the mxnet runtime."""
    out = session_dir / "face"
    in_runtime(env, "mxnet", str(REPO / "examples" / "mobilefacenet.py"), "--out", str(out))
    return out


@pytest.fixture(scope="session")
def keras_models(env, face, session_dir):
    out = session_dir / "keras"
    in_runtime(env, "tf", "tests/helpers/make_keras.py", str(face / "labels.npz"), str(out))
    return out


@pytest.fixture(scope="session")
def keras_pnet(env, session_dir):
    """MTCNN's PNet in Keras, built in the tf runtime."""
    out = session_dir / "keras_pnet"
    in_runtime(env, "tf", "tests/helpers/make_keras_pnet.py", str(out))
    return out / "pnet.keras"


@pytest.fixture(scope="session")
def example_run(env, face, session_dir):
    """The README's example conversion, all targets and quantization modes."""
    out = session_dir / "artifacts"
    args = [
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "onnx,tflite",
        "--quantize",
        "fp16,dynamic,int8",
        "--calibration",
        str(face / "calib.npz"),
        "--out",
        str(out),
    ]
    result = run_cli(env, "convert", *args)
    assert result.returncode == 0, result.stderr[-5000:]
    return {"args": args, "out": out, "result": result, "run": latest_run(out, "face")}


def model_dir(out: Path, model: str | None = None) -> Path:
    """out/<model>, or the one model folder under `out` when no name is given."""
    if model is not None:
        return out / model
    folders = [p for p in out.iterdir() if p.is_dir()] if out.is_dir() else []
    assert len(folders) <= 1, f"several models under {out}: {folders}"
    return folders[0] if folders else out / "(none)"


def latest_run(out: Path, model: str | None = None) -> Path:
    latest = json.loads((model_dir(out, model) / "latest.json").read_text())
    return out / latest["prefix"]


def newest_report(out: Path, model: str | None = None) -> dict | None:
    """The report of the newest run of `model` under `out`, passed or not (None: nothing published)."""
    folder = model_dir(out, model)
    runs = sorted(folder.glob("*/report.json")) if folder.is_dir() else []
    return checked_report(runs[-1]) if runs else None


def read_report(run_dir: Path) -> dict:
    return checked_report(run_dir / "report.json")


def checked_report(path: Path) -> dict:
    """A report.json as the dict it holds, checked against report.json's contract (flows/report_schema.py):
    every test that reads a run's report checks the contract on it."""
    report = json.loads(path.read_text())
    Report.model_validate(report)
    return report


def documented_routes() -> dict[tuple[str, str], tuple[str, int]]:
    """docs/formats.md's support matrix, read as a user reads it: (source, target) -> the converters of the
    route it names first, and how many fallbacks it says there are."""
    text = (REPO / "docs" / "formats.md").read_text()
    matrix = text.split("support-matrix: begin")[1].strip().split("\n\n")[0].splitlines()[1:]  # its first table
    header, _, *rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in matrix]
    found = {}
    for source, *cells in rows:
        for target, cell in zip(header[1:], cells, strict=True):
            fallbacks = re.search(r" \(\+(\d+) fallbacks?\)$", cell)
            route = cell[: fallbacks.start()] if fallbacks else cell
            found[(source, target)] = (
                "" if route == "(the source itself)" else route,
                int(fallbacks.group(1)) if fallbacks else 0,
            )
    return found


def routes_as_documented(report: dict) -> list[str]:
    """Where a real run's fp32 artifacts differ from docs/formats.md: each made by the route the matrix
    names first (a fallback that had to step in means the matrix promises a route that failed on a real
    model; a target also quantized may start from another), with as many routes tried or left as the
    matrix counts. [] when they agree. For runs without --via or --no-fallback."""
    documented = documented_routes()
    quantized = {a["target"] for a in report["artifacts"] if a["precision"] != "fp32"}
    wrong = []
    for artifact in report["artifacts"]:
        if artifact["precision"] != "fp32":
            continue
        route, fallbacks = documented[(report["source"]["format"], artifact["target"])]
        made = " → ".join(
            step for step in (artifact["route"] or "").split(" → ") if step.split("/")[0] in ("export", "emit")
        )
        first = made == route or artifact["target"] in quantized  # --quantize puts a quantizable route first
        if not artifact["published"] or not first or len(artifact["attempts"]) != fallbacks + 1:
            wrong.append(
                f"{artifact['target']}: made by {made or artifact['route']!r} of "
                f"{len(artifact['attempts'])} route(s); docs/formats.md says {route!r} (+{fallbacks})"
            )
    return wrong


RUN_RECORDS = ("report.json", "report.html", "run.json")


def failed_runs(root: Path) -> list[Path]:
    """The run folders under root of runs that failed and published no artifact: only their records."""
    found = []
    for run in sorted(root.glob("*/*/run.json")) if root.exists() else []:
        record = json.loads(run.read_text())
        if record["status"] == "failed" and not record["files"]:
            found.append(run.parent)
    return found


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root with its bytes: to prove nothing was published or lost. A run that failed
    without publishing anything leaves its report (every run that starts has one); that is not an
    artifact, so it is left out here: failure_report() reads it."""
    if not root.exists():
        return {}
    records = {run / name for run in failed_runs(root) for name in RUN_RECORDS}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p not in records
    }


def failure_report(out: Path, model: str | None = None) -> dict:
    """The report of the newest run of `model` that failed without publishing anything."""
    runs = [run for run in failed_runs(out) if model is None or run.parent.name == model]
    assert runs, f"no failed run's report under {out}"
    report = checked_report(runs[-1] / "report.json")
    assert report["status"] == "failed" and not any(a["published"] for a in report["artifacts"])
    return report


def convert_zoo(env, name: str, out, *extra: str):
    model = BY_NAME[name]
    source = fetch.source(model, download=False)  # `make zoo` brought it; tests reach only 127.0.0.1
    result = run_cli(env, "convert", str(source), *model.options, "--out", str(out), *extra)
    return result, newest_report(out)


@pytest.fixture(scope="session")
def moto_server(env, session_dir):
    """A real S3 endpoint over HTTP on 127.0.0.1 (moto in server mode)."""
    servers = []

    def start(**extra_env) -> str:
        port = free_port()
        log = open(session_dir / f"moto-{port}.log", "wb")
        process = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            env={**env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        servers.append((process, log))
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/moto-api/", 60, process)
        return url

    yield start
    for process, log in servers:
        process.terminate()
        process.wait(10)
        log.close()


def copy_checkpoint(face: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("model-symbol.json", "model-0000.params"):
        shutil.copyfile(face / name, dest / name)
    return dest / "model-symbol.json"


@pytest.fixture(scope="session")
def mlflow_url(env, session_dir):
    """`mlflow server` from images/mlflow's lock, with webhooks allowed to reach 127.0.0.1."""
    from flows.runtimes.venv import VenvRuntime

    runtime = VenvRuntime()
    runtime.ensure("mlflow")
    port, folder = free_port(), session_dir / "mlflow"
    folder.mkdir()
    server_env = {
        **env,
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http",
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "MLFLOW_WEBHOOK_CACHE_TTL": "1",
    }
    log = open(folder / "server.log", "wb")
    server = subprocess.Popen(
        [
            str(runtime.path("mlflow") / "bin" / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{folder}/mlflow.db",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--workers",
            "1",
        ],
        env=server_env,
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", 240, server)
        yield url
    finally:
        os.killpg(server.pid, 15)
        server.wait(30)
        log.close()


def mlflow_client(url: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=url, registry_uri=url)


def register_model(client, name: str, face: Path, experiment: str) -> str:
    """A run with the face checkpoint as its `model` artifacts, registered as a new version of `name`."""
    try:
        experiment_id = client.create_experiment(experiment)
    except Exception:
        experiment_id = client.get_experiment_by_name(experiment).experiment_id
    run = client.create_run(experiment_id)
    for file in ("model-symbol.json", "model-0000.params"):
        client.log_artifact(run.info.run_id, str(face / file), "model")
    client.set_terminated(run.info.run_id)
    try:
        client.create_registered_model(name)
    except Exception:
        pass
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    return str(version.version)


def model_tags(client, name: str, version: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tags = client.get_model_version(name, version).tags
        if "modelferry.status" in tags:
            return tags
        time.sleep(2)
    raise AssertionError(f"{name}/{version} got no modelferry.status within {timeout}s")


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def docker_env(env):
    """The session's env with a Docker engine that answers and the images built (skipped where none answers)."""
    if not docker_answers():
        pytest.skip("no Docker engine answers here (CI starts one: .ci/run)")
    started = time.monotonic()
    result = run_cli(env, "images", "build", timeout=3600)
    assert result.returncode == 0, result.stderr[-3000:]
    print(f"images build: {time.monotonic() - started:.0f}s")
    return env


@pytest.fixture
def listener():
    """TCP listeners on the host's 127.0.0.1 that record every connection (and its first bytes)."""
    made = []

    def start():
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(0.2)
        state = SimpleNamespace(port=server.getsockname()[1], connections=[], stop=threading.Event())

        def serve():
            while not state.stop.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                with conn:
                    conn.settimeout(2)
                    try:
                        state.connections.append(conn.recv(100) or b"(connected)")
                    except OSError:
                        state.connections.append(b"(connected)")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        made.append((state, thread, server))
        return state

    yield start
    for state, thread, server in made:
        state.stop.set()
        thread.join(5)
        server.close()


def connections(state) -> list[bytes]:
    time.sleep(0.5)  # a connection made just before the run ended is accepted within 0.2 s
    return list(state.connections)


def escape_attempts(output: str) -> dict:
    found = re.findall(r"escape attempts: (\{.*\})", output)
    assert found, output[-3000:]
    return json.loads(found[0])


def files_holding(root: Path, token: bytes, but: Path | None = None) -> list[Path]:
    return (
        [p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p != but and token in p.read_bytes()]
        if root.exists()
        else []
    )
