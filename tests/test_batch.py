"""`modelferry batch`: a manifest of models from a directory and from S3, converted into S3 (moto on
127.0.0.1), two at a time; one model's failure stops no other; an unchanged re-run does no stage work."""

from __future__ import annotations

import json
import urllib.request

import boto3

from tests.conftest import own_home, run_cli, strict


def client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _manifest(path, endpoint: str, face) -> None:
    path.write_text(f"""
out: s3://models/converted
defaults:
  to: [onnx, tflite]
  quantize: [fp16]
  s3_endpoint_url: {endpoint}
  input_shape: {{data: [1, 3, 112, 112]}}
models:
  - source: {face}/model-symbol.json
  - source: s3://models/incoming/r50/model-symbol.json
    to: onnx
    quantize: []
  - source: missing/model-symbol.json
""")


def test_a_batch_from_a_folder_and_s3_into_s3(env, face, moto_server, tmp_path):
    endpoint = moto_server()
    s3 = client(endpoint)
    s3.create_bucket(Bucket="models")
    for name in ("model-symbol.json", "model-0000.params"):
        s3.upload_file(str(face / name), "models", f"incoming/r50/{name}")
    manifest = tmp_path / "models.yaml"
    _manifest(manifest, endpoint, face)
    home = own_home(env, tmp_path / "home", PREFECT_API_URL=env["PREFECT_API_URL"])

    result = run_cli(home, "batch", str(manifest), "--parallel", "2")
    assert result.returncode == 1, result.stderr[-4000:]  # one model has no files
    err = " ".join(result.stderr.split())
    assert "(2 passed, 0 failed, 1 errors)" in err and "missing/model-symbol.json) no such file or folder" in err
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="models", Prefix="converted/")["Contents"]}
    (report_key,) = [k for k in keys if k.startswith("converted/_batches/") and k.endswith("/report.json")]
    report = strict(s3.get_object(Bucket="models", Key=report_key)["Body"].read().decode())
    assert report["counts"] == {"passed": 2, "failed": 0, "error": 1} and report["parallel"] == 2
    by_model = {m["model"]: m for m in report["models"] if m["model"]}
    assert set(by_model) == {"face", "r50"}  # named by their folders, locally and in the bucket
    assert by_model["face"]["targets"] == {"onnx/fp32": "passed", "tflite/fp32": "passed", "tflite/fp16": "passed"}
    assert by_model["r50"]["targets"] == {"onnx/fp32": "passed"}
    for model in ("face", "r50"):
        latest = json.loads(s3.get_object(Bucket="models", Key=f"converted/{model}/latest.json")["Body"].read())
        assert all(f"converted/{latest['prefix']}/{f}" in keys for f in latest["files"])
    owner = json.loads(s3.get_object(Bucket="models", Key="converted/r50/model.json")["Body"].read())
    assert owner["source"] == "s3://models/incoming/r50/model-symbol.json"
    (error,) = [m for m in report["models"] if m["status"] == "error"]
    assert error["source"] == "missing/model-symbol.json" and "missing" in error["error"]
    page = s3.get_object(Bucket="models", Key=report_key.replace("report.json", "report.html"))["Body"].read().decode()
    grid = page.split("<h2>Models × targets</h2>")[1].split("</table>")[0]  # a row per model, a column per artifact
    assert grid.count("<tr>") == 4 and grid.count("<th>") == 4 and grid.count("✓") == 4
    assert "no such file or folder" in grid

    # Prefect's table artifact for the batch, one row per model
    url = env["PREFECT_API_URL"]
    request = urllib.request.Request(
        f"{url}/artifacts/filter",
        method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps(
            {"artifacts": {"key": {"any_": ["batch-models"]}}, "sort": "CREATED_DESC", "limit": 1}
        ).encode(),
    )
    (newest,) = json.loads(urllib.request.urlopen(request, timeout=10).read())  # this batch's, not another test's
    assert newest["type"] == "table"
    rows = json.loads(newest["data"]) if isinstance(newest["data"], str) else newest["data"]
    assert {r["model"] for r in rows} >= {"face", "r50"}

    again = run_cli(home, "batch", str(manifest), "--parallel", "2")
    assert again.returncode == 1
    assert "▶" not in again.stderr  # no stage process started
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="models", Prefix="converted/_batches/")["Contents"]}
    newest = max(k for k in keys if k.endswith("/report.json"))
    rerun = strict(s3.get_object(Bucket="models", Key=newest)["Body"].read().decode())
    assert rerun["stages_run"] == 0 and rerun["counts"]["passed"] == 2


def test_a_manifest_with_an_unknown_key_is_refused_before_any_work(env, face, tmp_path):
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        f"out: {tmp_path / 'out'}\nmodels:\n  - source: {face}/model-symbol.json\n    "
        f"input_shape: {{data: [1, 3, 112, 112]}}\n  - source: {face}/model-symbol.json\n"
        f"    quantise: [fp16]\n"
    )
    result = run_cli(env, "batch", str(manifest))
    assert result.returncode == 2
    err = " ".join(result.stderr.split())
    assert f"{manifest}: model #2" in err and "unknown key 'quantise'" in err and "quantize" in err
    assert not (tmp_path / "out").exists()
