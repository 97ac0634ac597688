"""report.json: what was converted, how close each artifact is to the source, what was published."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flows.cache import content_sha256_in
from flows.report_schema import SCHEMA_VERSION
from flows.routes import Made
from flows.stage_run import StageOutcome

PARITY_FIELDS = (
    "max_abs_err",
    "max_rel_err",
    "cosine",
    "passed",
    "worst_output",
    "top1_agreement",
    "noise_floor",
    "validator",
    "task",
)


def finite(value):
    """A value with every float that is not finite (inf, nan) made null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def strict_json(report: dict) -> str:
    """report.json as strict JSON (no Infinity or NaN, which most parsers refuse): those become null."""
    return json.dumps(finite(report), indent=2, sort_keys=True, allow_nan=False)


def file_name(made: Made, model: str) -> str:
    """model.onnx, model_fp16.tflite; a directory target (SavedModel, TFJS): model_savedmodel/, model_tfjs_fp16/."""
    assert made.artifact is not None, "a published artifact was made"
    if made.artifact.file("model").is_dir():
        return f"{model}_{made.target}" + ("" if made.precision == "fp32" else f"_{made.precision}")
    suffix = Path(made.artifact.manifest["files"]["model"]).suffix
    return f"{model}{suffix}" if made.target == "onnx" else f"{model}_{made.precision}{suffix}"


def size(path: Path) -> int:
    """Bytes of a file, or of every file in a directory artifact."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _preprocess(manifest: Mapping[str, Any]) -> dict | None:
    steps = (manifest.get("preprocess") or {}).get("inputs") or {}
    if len(steps) == 1:
        ((name, step),) = steps.items()
        return {"input": name, **step}
    return {"inputs": steps} if steps else None


def _signature(specs: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The artifact's tensors under the model's own names (and the artifact's, where it renamed them)."""
    keep = ("shape", "dtype", "source_dtype", "note", "layout", "quantization", "batch_axis", "matched_by")
    described = []
    for spec in specs:
        entry = {"name": spec.get("source_name", spec["name"]), **{k: spec[k] for k in keep if k in spec}}
        if spec["name"] != entry["name"]:
            entry["name_in_artifact"] = spec["name"]
        described.append(entry)
    return described


def _artifact(made: Made, model: str) -> dict:
    entry: dict[str, Any] = {
        "target": made.target,
        "precision": made.precision,
        "path": file_name(made, model) if made.passed else None,
        "published": made.passed,
        "route": made.route,
        "attempts": made.attempts,
    }
    if not made.passed:
        entry["reason"] = made.reason
    if made.divergence is not None:
        entry["divergence"] = made.divergence
    if made.artifact is None:  # no route made it
        return entry
    path = made.artifact.file("model")
    parity = made.parity
    assert parity is not None, "an artifact that was made was validated"
    if made.artifact.manifest.get("legalized"):  # graph rewrites a converter needed, by pass: nodes rewritten
        entry["legalized"] = made.artifact.manifest["legalized"]
    if made.latency:
        entry["latency"] = made.latency
    return {
        **entry,
        "sha256": content_sha256_in(made.artifact.path, path),
        "bytes": size(path),
        "inputs": _signature(made.artifact.manifest["inputs"]),
        "outputs": _signature(made.artifact.manifest["outputs"]),
        "parity": {k: parity[k] for k in PARITY_FIELDS if k in parity}
        | {"gate": parity["outputs"][parity["worst_output"]]["gate"], "outputs": parity["outputs"]},
    }


def build(
    *,
    run_id: str,
    source: dict,
    results: list[Made],
    stages: list[StageOutcome],
    failures: list,
    model: str,
    trunk: Mapping[str, Any],
    surgery: dict | None,
    error: str | None = None,
    trusted: bool = False,
) -> dict:
    """`trunk`: the manifest of the model every route started from (samples, stripped preprocessing), or
    of the furthest stage before the run failed. `error`: why the whole run failed (nothing published)."""
    artifacts = [_artifact(made, model) for made in results]
    failed = [f"{a['target']}/{a['precision']}" for a in artifacts if not a["published"]]
    report = {
        "schema_version": SCHEMA_VERSION,  # which contract it is written under (flows/report_schema.py)
        "status": "failed" if failed or error else "passed",
        "run_id": run_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model,
        # how the load stage read the source, where it chose (a checkpoint's frozen outputs, a SavedModel's tags)
        "source": {**source, "read": trunk["read"]} if trunk.get("read") else source,
        "artifacts": artifacts,
        "failed_targets": failed,
        "surgery": surgery or {},
        "stages": [
            {"stage": s.stage, "impl": s.impl, "label": s.label, "seconds": round(s.seconds, 3), "cached": s.cached}
            | ({"started_at": round(s.started_at, 3), "cores": list(s.cores)} if not s.cached else {})
            for s in stages
        ],
        "failed_stages": [
            {"stage": step.stage, "impl": step.impl, "label": step.label, "cached": exc.cached, "reason": exc.cause}
            for step, exc in failures
        ],
    }
    if error:
        report["error"] = error
    # what the source's allowlist check let through, or at least that --trust-custom-code was given
    report["trust"] = (trunk.get("metrics") or {}).get("trust") or {"custom_code_trusted": trusted}
    if trunk.get("samples_info"):
        report["samples"] = trunk["samples_info"]
    preprocess = _preprocess(trunk)
    if preprocess:
        report["preprocess"] = preprocess
    return report
