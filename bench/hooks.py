"""Benchmark: webhook to published, through a real MLflow server and `modelferry hooks serve`.

    .venv/bin/python bench/hooks.py [--versions 3] [--out bench/results/hooks.md]

An MLflow 3.17.2 server (SQLite, images/mlflow's lock) and modelferry's own Prefect server on
127.0.0.1; the bundled MobileFaceNet registered as new versions of one model, one after another. For
each: the seconds from `create_model_version` returning to the version's `modelferry.status` tag (MLflow's
delivery, the claim, the download, the conversion to ONNX + TFLite, the write-back), the conversion's own
stage seconds, and the rest. The first version converts in a cold cache; later versions are the same
files (the source is cached by content), so they show the fixed cost.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BIN = REPO / ".venv" / "bin"
FACE = REPO / "examples" / "models" / "face"
from bench.scratch import emit, fresh_home  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(url: str, seconds: float) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {seconds}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from mlflow import MlflowClient

    from flows.runtimes.venv import VenvRuntime

    runtime = VenvRuntime()
    runtime.ensure("mlflow")
    scratch, env = fresh_home("hooks")
    mlflow_port, hook_port, secret = free_port(), free_port(), "bench-secret"
    url = f"http://127.0.0.1:{mlflow_port}"
    env.update(MLFLOW_TRACKING_URI=url, HOOK_SECRET=secret)
    mlflow_env = {
        **env,
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http",
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "MLFLOW_WEBHOOK_CACHE_TTL": "1",
    }
    rules = scratch / "hooks.yaml"
    rules.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "model": "bench-*",
                        "to": ["onnx", "tflite"],
                        "input_shape": {"data": [1, 3, 112, 112]},
                        "out": str(scratch / "out"),
                        "runtime": "venv",
                    }
                ]
            }
        )
    )
    processes, rows = [], []
    try:
        processes.append(
            subprocess.Popen(
                [
                    str(runtime.path("mlflow") / "bin" / "mlflow"),
                    "server",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(mlflow_port),
                    "--backend-store-uri",
                    f"sqlite:///{scratch}/mlflow.db",
                    "--artifacts-destination",
                    str(scratch / "art"),
                    "--workers",
                    "1",
                ],
                env=mlflow_env,
                cwd=scratch,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        subprocess.run([str(BIN / "modelferry"), "server", "start"], env=env, check=True, capture_output=True)
        processes.append(
            subprocess.Popen(
                [
                    str(BIN / "modelferry"),
                    "hooks",
                    "serve",
                    "--rules",
                    str(rules),
                    "--port",
                    str(hook_port),
                    "--secret-env",
                    "HOOK_SECRET",
                    "--dispatch",
                    "local",
                ],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=open(scratch / "hooks.log", "w"),
                start_new_session=True,
            )
        )
        wait(f"{url}/health", 240)
        time.sleep(3)
        client = MlflowClient(tracking_uri=url, registry_uri=url)
        client.create_webhook(
            "modelferry", f"http://127.0.0.1:{hook_port}/", events=["model_version.created"], secret=secret
        )
        client.create_registered_model("bench-faces")
        experiment = client.create_experiment("bench")
        for _ in range(args.versions):
            run = client.create_run(experiment)
            for file in ("model-symbol.json", "model-0000.params"):
                client.log_artifact(run.info.run_id, str(FACE / file), "model")
            version = client.create_model_version(
                "bench-faces", f"runs:/{run.info.run_id}/model", run.info.run_id
            ).version
            started = time.monotonic()
            while "modelferry.status" not in (tags := client.get_model_version("bench-faces", version).tags):
                if time.monotonic() - started > 900:
                    raise SystemExit(f"version {version}: no result in 900 s; see {scratch / 'hooks.log'}")
                time.sleep(0.2)
            latency = time.monotonic() - started
            report_path = Path(tags["modelferry.report"]).with_name("report.json")
            report = json.loads(report_path.read_text())
            stages = sum(s["seconds"] for s in report["stages"])
            rows.append((version, tags["modelferry.status"], latency, stages))
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, 15)
                process.wait(30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        subprocess.run([str(BIN / "modelferry"), "server", "stop"], env=env, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)

    lines = [
        "MobileFaceNet registered as new versions of `bench-faces` in MLflow 3.17.2; `hooks serve --dispatch "
        f"local`; ONNX + TFLite; venv runtime, {os.cpu_count()} cores.",
        "",
        "| version | status | webhook → published s | stages s | the rest s |",
        "|---|---|---|---|---|",
    ]
    for version, status, latency, stages in rows:
        lines.append(f"| {version} | {status} | {latency:.1f} | {stages:.1f} | {latency - stages:.1f} |")
    emit("Webhook to published (bench/hooks.py)", lines, args.out)


if __name__ == "__main__":
    main()
