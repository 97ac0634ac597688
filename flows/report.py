"""report.json: what was converted, how close each artifact is to the source, what was published."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flows.tasks import StageOutcome
from stages.bundle import Bundle, content_sha256

PARITY_FIELDS = ("max_abs_err", "max_rel_err", "cosine", "passed", "worst_output", "top1_agreement", "noise_floor")


@dataclass
class TargetResult:
    target: str          # onnx, tflite
    precision: str       # fp32, fp16, dynamic, int8
    artifact: Bundle     # the emitted/quantized bundle
    parity: dict         # validate's metrics.parity

    @property
    def passed(self) -> bool:
        return bool(self.parity.get("passed"))

    def file_name(self, model: str) -> str:
        """model.onnx, model_fp16.tflite; a directory target (SavedModel, TFJS): model_savedmodel/, model_tfjs_fp16/."""
        if self.artifact.file("model").is_dir():
            return f"{model}_{self.target}" + ("" if self.precision == "fp32" else f"_{self.precision}")
        suffix = Path(self.artifact.manifest["files"]["model"]).suffix
        return f"{model}{suffix}" if self.target == "onnx" else f"{model}_{self.precision}{suffix}"


def size(path: Path) -> int:
    """Bytes of a file, or of every file in a directory artifact."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _preprocess(manifest: dict) -> dict | None:
    steps = (manifest.get("preprocess") or {}).get("inputs") or {}
    if len(steps) == 1:
        (name, step), = steps.items()
        return {"input": name, **step}
    return {"inputs": steps} if steps else None


def _signature(specs: list[dict]) -> list[dict]:
    """The artifact's tensors under the model's own names (and the artifact's, where it renamed them)."""
    keep = ("shape", "dtype", "layout", "quantization", "batch_axis", "matched_by")
    described = []
    for spec in specs:
        entry = {"name": spec.get("source_name", spec["name"]), **{k: spec[k] for k in keep if k in spec}}
        if spec["name"] != entry["name"]:
            entry["name_in_artifact"] = spec["name"]
        described.append(entry)
    return described


def build(*, run_id: str, source: dict, results: list[TargetResult], stages: list[StageOutcome],
          model: str, surgery: dict | None) -> dict:
    artifacts = []
    for result in results:
        path = result.artifact.file("model")
        artifacts.append({
            "target": result.target,
            "precision": result.precision,
            "path": result.file_name(model) if result.passed else None,
            "published": result.passed,
            "sha256": content_sha256(path),
            "bytes": size(path),
            "inputs": _signature(result.artifact.manifest["inputs"]),
            "outputs": _signature(result.artifact.manifest["outputs"]),
            "parity": {k: result.parity[k] for k in PARITY_FIELDS if k in result.parity}
                      | {"gate": result.parity["outputs"][result.parity["worst_output"]]["gate"],
                         "outputs": result.parity["outputs"]},
        })
    failed = [f"{a['target']}/{a['precision']}" for a in artifacts if not a["published"]]
    first = results[0].artifact.manifest if results else {}
    report = {
        "status": "failed" if failed else "passed",
        "run_id": run_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model,
        "source": source,
        "artifacts": artifacts,
        "failed_targets": failed,
        "surgery": surgery or {},
        "stages": [{"stage": s.stage, "impl": s.impl, "label": s.label, "seconds": round(s.seconds, 3),
                    "cached": s.cached} for s in stages],
    }
    if first.get("samples_info"):
        report["samples"] = first["samples_info"]
    preprocess = _preprocess(first)
    if preprocess:
        report["preprocess"] = preprocess
    return report
