"""The `convert` flow: load → surgery → export → emit → quantize → validate → publish."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from prefect import flow

from flows import progress
from flows.config import ConvertRequest
from flows.publish import publish
from flows.report import TargetResult, build
from flows.runtimes import RuntimeSpec, resolve_auto, select
from flows.source import resolve
from flows.store import open_store
from flows.tasks import StageOutcome, run_stage
from stages import catalog
from stages.bundle import Bundle


@dataclass
class RunResult:
    report: dict
    location: str          # where the run was published
    stages: list[StageOutcome]


def _run_id(request: ConvertRequest, source_sha: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256((source_sha + request.fingerprint()).encode()).hexdigest()[:8]
    return f"{stamp}-{digest}"


@flow(name="convert", log_prints=False, persist_result=False)
def convert(request: ConvertRequest) -> RunResult:
    store = open_store(request.out, request.s3_endpoint_url)
    store.check()  # an unreachable bucket fails before any work, not after it
    spec, why = resolve_auto(RuntimeSpec(request.runtime, request.stage_memory, request.stage_cpus))
    progress.reporter.note(why)
    runtime = select(spec)
    for image in catalog.images():
        runtime.ensure(image)

    source = resolve(request.source, request.epoch)
    source_bundle = source.bundle(calibration=request.calibration, samples=request.samples)
    stages: list[StageOutcome] = []

    def stage(name: str, bundle_format: str, config: dict, inputs, produces: str | None = None,
              label: str = "") -> StageOutcome:
        impl = catalog.find(name, bundle_format, produces)
        outcome = run_stage(name, impl.name, config, inputs, spec, request.stage_timeout_s, label)
        stages.append(outcome)
        return outcome

    loaded = stage("load", source.bundle_format,
                   {"input_shapes": request.input_shapes}, [source_bundle])
    edited = stage("surgery", "mxnet",
                   {"strip_preprocess": request.strip_preprocess, "rename": request.rename,
                    "output_layer": request.output_layer}, [loaded.bundle])
    onnx = stage("export", "mxnet", {"opset": request.opset}, [edited.bundle])

    artifacts = {("onnx", "fp32"): onnx}
    if "tflite" in request.targets:
        tflite = stage("emit", "onnx", {}, [onnx.bundle], produces="tflite")
        artifacts[("tflite", "fp32")] = tflite
        for mode in request.quantize:
            artifacts[("tflite", mode)] = stage("quantize", "tflite", {"mode": mode}, [tflite.bundle],
                                                  label=mode)
    if "onnx" not in request.targets:
        del artifacts[("onnx", "fp32")]

    results = []
    for (target, precision), made in artifacts.items():
        checked = stage("validate", target, {"gates": request.gates.model_dump()}, [made.bundle],
                        label=precision)
        results.append(TargetResult(target, precision, Bundle.read(made.bundle),
                                    Bundle.read(checked.bundle).manifest["metrics"]["parity"]))

    report = build(run_id=_run_id(request, source.info["sha256"]), source=source.info, results=results,
                   stages=stages, model=source.name,
                   surgery=Bundle.read(edited.bundle).manifest.get("metrics", {}).get("edits"))
    location = publish(store, report, results)
    return RunResult(report=report, location=f"{store.url.rstrip('/')}/{location}", stages=stages)
