"""Publishing to a real S3 endpoint (moto server on 127.0.0.1) through boto3."""

from __future__ import annotations

import hashlib
import json

import boto3

from tests.conftest import INPUT_SHAPE, run_cli


def client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_publish_to_s3(face, env, moto_server):
    endpoint = moto_server()
    s3 = client(endpoint)
    s3.create_bucket(Bucket="models")
    s3.put_object(Bucket="models", Key="prod/face/earlier.txt", Body=b"keep me")
    result = run_cli(
        env,
        "convert",
        str(face / "model-symbol.json"),
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        "onnx,tflite",
        "--out",
        "s3://models/prod/face",
        "--s3-endpoint-url",
        endpoint,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="models", Prefix="prod/face/")["Contents"]}
    latest = json.loads(s3.get_object(Bucket="models", Key="prod/face/face/latest.json")["Body"].read())
    prefix = f"prod/face/{latest['prefix']}"
    assert {
        f"{prefix}/{name}" for name in ("face.onnx", "face_fp32.tflite", "report.json", "report.html", "run.json")
    } <= keys
    report = json.loads(s3.get_object(Bucket="models", Key=f"{prefix}/report.json")["Body"].read())
    for artifact in report["artifacts"]:
        body = s3.get_object(Bucket="models", Key=f"{prefix}/{artifact['path']}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == artifact["sha256"]
    assert s3.get_object(Bucket="models", Key="prod/face/earlier.txt")["Body"].read() == b"keep me"
