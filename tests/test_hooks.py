"""MLflow registry hooks against a real `mlflow server` (SQLite backend) on 127.0.0.1, whose own webhooks
call a real `modelferry hooks serve`: a new version that matches a rule is converted, the converted files
land on the version's run and its tags say the verdict; forged or stale deliveries do nothing; 50
concurrent deliveries of one event give one conversion; `hooks reconcile` finds what no event announced."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import (
    MODELFERRY,
    REPO,
    free_port,
    latest_run,
    mlflow_client,
    model_tags,
    own_home,
    read_report,
    register_model,
    run_cli,
)

SECRET = "a-webhook-secret"


def _post(port: int, body: bytes, headers: dict) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mlflow",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())["outcome"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["outcome"]


def _signed(body: bytes, secret: str = SECRET, stamp: int | None = None) -> dict:
    from flows.hooks.signature import sign

    delivery, stamp = str(uuid.uuid4()), str(stamp or int(time.time()))
    return {
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": stamp,
        "X-MLflow-Signature": sign(secret, delivery, stamp, body),
    }


def test_mlflow_webhooks_convert_new_versions_and_write_back(env, face, mlflow_url, tmp_path):
    client = mlflow_client(mlflow_url)
    race_version = register_model(client, "race-faces", face, "hooks")  # before any webhook: no event for it
    out = tmp_path / "out"
    rules = tmp_path / "hooks.yaml"
    rules.write_text(f"""
rules:
  - model: "faces-*"
    to: [onnx, tflite]
    input_shape: {{data: [1, 3, 112, 112]}}
    out: {out}
  - model: "race-*"
    to: onnx
    input_shape: {{data: [1, 3, 112, 112]}}
    out: {out}
""")
    port = free_port()
    home = own_home(
        env,
        tmp_path / "home",
        PREFECT_API_URL=env["PREFECT_API_URL"],
        MLFLOW_TRACKING_URI=mlflow_url,
        HOOK_SECRET=SECRET,
    )
    log = open(tmp_path / "hooks.log", "w")
    hooks = subprocess.Popen(
        [
            MODELFERRY,
            "hooks",
            "serve",
            "--rules",
            str(rules),
            "--port",
            str(port),
            "--secret-env",
            "HOOK_SECRET",
            "--dispatch",
            "local",
        ],
        env=home,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while _post_ok(port) is False:
            assert hooks.poll() is None and time.monotonic() < deadline, (tmp_path / "hooks.log").read_text()
            time.sleep(0.5)
        client.create_webhook(
            "modelferry",
            f"http://127.0.0.1:{port}/mlflow",
            secret=SECRET,
            events=["model_version.created", "model_version_tag.set", "model_version_alias.created"],
        )

        # MLflow itself delivers model_version.created for a new version of faces-r100
        version = register_model(client, "faces-r100", face, "hooks")
        tags = model_tags(client, "faces-r100", version)
        assert tags["modelferry.status"] == "passed"
        assert tags["modelferry.onnx.fp32"].startswith("passed: max abs err")
        assert tags["modelferry.tflite.fp32"].startswith("passed: max abs err")
        run = latest_run(out, "faces-r100")
        assert tags["modelferry.report"] == f"{run}/report.html"
        report = read_report(run)
        assert report["source"]["format"] == "mxnet" and report["status"] == "passed"
        run_id = client.get_model_version("faces-r100", version).run_id
        logged = {a.path for a in client.list_artifacts(run_id, "modelferry/onnx")} | {
            a.path for a in client.list_artifacts(run_id, "modelferry/tflite")
        }
        assert logged == {"modelferry/onnx/faces-r100.onnx", "modelferry/tflite/faces-r100_fp32.tflite"}

        # forged, unsigned and stale deliveries: refused, nothing claimed
        event = json.dumps(
            {
                "entity": "model_version",
                "action": "created",
                "timestamp": "now",
                "data": {"name": "race-faces", "version": race_version, "tags": {}},
            }
        ).encode()
        assert _post(port, event, _signed(event, secret="not-the-secret"))[0] == 401
        assert _post(port, event, {})[0] == 401
        assert _post(port, event, _signed(event, stamp=int(time.time()) - 3600))[0] == 400
        assert (
            not (tmp_path / "home" / "hooks" / "claims").exists()
            or len(list((tmp_path / "home" / "hooks" / "claims").rglob("*.json"))) == 1
        )  # faces-r100's only

        # 50 deliveries of one event, at once: one conversion
        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(lambda _: _post(port, event, _signed(event)), range(50)))
        accepted = [a for a in answers if a[0] == 202]
        assert len(accepted) == 1 and all(
            a == (200, "duplicate: this version is converted (or being converted) already")
            for a in answers
            if a[0] != 202
        ), answers
        assert model_tags(client, "race-faces", race_version)["modelferry.status"] == "passed"

        # the tags written back fired model_version_tag.set: each was ignored, nothing converted twice
        text = (tmp_path / "hooks.log").read_text()
        assert text.count("accepted: converting here") == 2
        assert "ignored: a tag modelferry wrote itself" in text
    finally:
        hooks.terminate()
        hooks.wait(60)
        log.close()
        for hook in client.list_webhooks():
            client.delete_webhook(hook.webhook_id)

    # a version registered while nobody listened: reconcile finds it, once
    missed = register_model(client, "race-faces", face, "hooks")
    found = run_cli(home, "hooks", "reconcile", "--rules", str(rules), "--dispatch", "local")
    assert found.returncode == 0, found.stderr[-3000:]
    assert f"models:/race-faces/{missed}: accepted" in found.stderr and "1 version(s) without a result" in found.stderr
    assert client.get_model_version("race-faces", missed).tags["modelferry.status"] == "passed"
    again = run_cli(home, "hooks", "reconcile", "--rules", str(rules), "--dispatch", "local")
    assert again.returncode == 0 and "every matching version has a result" in again.stderr


def _post_ok(port: int) -> bool:
    try:
        _post(port, b"{}", {})
        return True
    except OSError:
        return False
