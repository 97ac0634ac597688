"""Deployments on a work pool: `modelferry deploy` registers infra/prefect.yaml's convert and batch
deployments on a real Prefect server; a real `prefect worker` runs them, as it would on another machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request

import pytest

from tests.conftest import (
    BIN,
    REPO,
    latest_run,
    mlflow_client,
    model_tags,
    own_home,
    read_report,
    register_model,
    run_cli,
    strict,
)


def _deployments(url: str) -> dict[str, dict]:
    request = urllib.request.Request(
        f"{url}/deployments/filter", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    return {d["name"]: d for d in json.loads(urllib.request.urlopen(request, timeout=10).read())}


def _prefect(home: dict, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "prefect"), *args], env=home, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_a_worker_runs_the_batch_and_convert_deployments(env, face, mlflow_url, tmp_path):
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"], MLFLOW_TRACKING_URI=mlflow_url)
    out = tmp_path / "out"
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        f"out: {out}\ndefaults: {{to: [onnx, tflite]}}\nmodels:\n"
        f"  - source: {face}/model-symbol.json\n    input_shape: {{data: [1, 3, 112, 112]}}\n"
    )
    deployed = run_cli(home, "deploy", "--manifest", str(manifest), "--cron", "30 2 * * *")
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert "deployment batch/batch on work pool modelferry, scheduled 30 2 * * * (UTC)" in deployed.stderr
    deployments = _deployments(env["PREFECT_API_URL"])
    batch = deployments["batch"]
    assert batch["work_pool_name"] == "modelferry" and "convert" in deployments
    (schedule,) = batch["schedules"]
    assert schedule["schedule"]["cron"] == "30 2 * * *" and schedule["parameters"]["manifest"] == str(manifest)

    worker = subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", "modelferry"],
        env=home,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        ran = _prefect(
            home,
            "deployment",
            "run",
            "batch/batch",
            "--param",
            f"manifest={manifest}",
            "--watch",
            "--watch-timeout",
            "800",
        )
        assert ran.returncode == 0 and "Completed" in ran.stdout, (ran.stdout + ran.stderr)[-3000:]
        report = read_report(latest_run(out, "face"))
        assert report["status"] == "passed" and [a["published"] for a in report["artifacts"]] == [True, True]
        (batch_report,) = (out / "_batches").glob("*/report.json")
        assert strict(batch_report.read_text())["counts"]["passed"] == 1

        params = {
            "source": str(face / "model-symbol.json"),
            "options": {
                "to": ["onnx"],
                "input_shape": {"data": [1, 3, 112, 112]},
                "out": str(tmp_path / "one"),
                "name": "face-one",
            },
        }
        ran = _prefect(
            home,
            "deployment",
            "run",
            "convert-model/convert",
            "--params",
            json.dumps(params),
            "--watch",
            "--watch-timeout",
            "600",
        )
        assert ran.returncode == 0 and "Completed" in ran.stdout, (ran.stdout + ran.stderr)[-3000:]
        (one,) = read_report(latest_run(tmp_path / "one", "face-one"))["artifacts"]
        assert one["published"] and one["parity"]["passed"]

        # with a worker online, a registry version a rule matches is converted through the deployment
        client = mlflow_client(mlflow_url)
        version = register_model(client, "deployed-faces", face, "deploy")
        rules = tmp_path / "hooks.yaml"
        rules.write_text(
            f"rules:\n  - model: deployed-*\n    to: onnx\n    input_shape: {{data: [1, 3, 112, 112]}}\n"
            f"    out: {tmp_path / 'registry'}\n"
        )
        found = run_cli(home, "hooks", "reconcile", "--rules", str(rules))
        assert found.returncode == 0, found.stderr[-3000:]
        assert f"models:/deployed-faces/{version}: accepted: flow run" in " ".join(found.stderr.split())
        assert "of convert-model/convert" in " ".join(found.stderr.split())
        tags = model_tags(client, "deployed-faces", version)
        assert tags["modelferry.status"] == "passed" and tags["modelferry.onnx.fp32"].startswith("passed")
        assert latest_run(tmp_path / "registry", "deployed-faces").is_dir()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:  # Prefect's worker may take longer to wind down: not what is tested
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(30)
