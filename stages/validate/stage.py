"""validate/<target>: run a target and gate it against the source's golden outputs (golden.npz).

The stage succeeds whether or not the gate passes; its manifest's
`metrics.parity` says which, and the orchestrator refuses to publish a
target that failed.
"""

from __future__ import annotations

import json

from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.validate import latency
from stages.validate.compare import compare
from stages.validate.distribution import distribution
from stages.validate.gates import Gates
from stages.validate.runners import run_target, unmeasured, validator
from stages.validate.task import agreement, channels_first

TOOLS = ("onnxruntime", "ai-edge-litert", "tensorflow-cpu", "numpy")


def _task(task: str, golden: dict, actual: dict, target, labels: list[int] | None) -> dict:
    """Agreement on the task the user named, per output (stages/validate/task.py)."""
    specs = {spec["source_name"]: spec for spec in target.manifest["outputs"]}
    found = {}
    for name, want in golden.items():
        spec = specs.get(name, {})
        samples = want.shape[0] // max(1, spec["shape"][0] if spec.get("shape") else 1) if want.ndim else 1
        lay = spec.get("source_layout", spec.get("layout"))
        found[name] = agreement(task, channels_first(want, lay), channels_first(actual[name], lay), samples, labels)
    return {"task": task, "outputs": found}


def run(ctx: StageContext) -> dict:
    target = ctx.source
    gates = Gates(**ctx.option("gates", {}))
    precision = target.manifest.get("precision", "fp32")
    # the golden outputs the target carries from its source's load, else those of the run's reference stage
    reference = next((bundle for bundle in ctx.inputs if bundle.has("golden")), None)
    if reference is None:
        raise StageError(f"no golden outputs to hold {target.path.name} to: no input bundle has a golden file")
    golden = samples_lib.load_npz(reference.file("golden"), "golden outputs")
    floors = reference.manifest.get("noise_floor") or {}
    latency.want(ctx.option("profile", 0))
    actual = run_target(target)
    outputs = {}
    for name, want in golden.items():
        metrics = compare(want, actual[name])
        passed, gate = gates.check(precision, metrics, want, floors.get(name, 0.0))
        if "shape_mismatch" in metrics:
            passed, gate = (
                False,
                (f"shape {metrics['shape_mismatch'][1]}, the source's is {metrics['shape_mismatch'][0]}"),
            )
        outputs[name] = {**metrics, "passed": passed, "gate": gate}
        spread = distribution(want, actual[name])
        if spread:  # what report.html plots
            outputs[name]["distribution"] = spread
        if name in floors:
            outputs[name]["noise_floor"] = floors[name]
    worst = min(outputs, key=lambda n: (outputs[n]["passed"], outputs[n]["cosine"], -outputs[n]["max_abs_err"]))
    parity = {
        "precision": precision,
        "passed": all(o["passed"] for o in outputs.values()),
        "worst_output": worst,
        "max_abs_err": outputs[worst]["max_abs_err"],
        "max_rel_err": outputs[worst]["max_rel_err"],
        "cosine": outputs[worst]["cosine"],
        "outputs": outputs,
    }
    if worst in floors:
        parity["noise_floor"] = floors[worst]
    if validator(target):
        parity["validator"] = validator(target)
    if ctx.option("task"):
        parity["task"] = _task(ctx.option("task"), golden, actual, target, ctx.option("labels"))
    for key in ("top1_agreement",):
        if key in outputs[worst]:
            parity[key] = outputs[worst][key]
    (ctx.out / "parity.json").write_text(json.dumps(parity, indent=2))
    measured = latency.result(skipped=unmeasured(target))
    return {
        "format": "parity",
        "files": {"parity": "parity.json"},
        "precision": precision,
        "metrics": {"parity": parity, **({"latency": measured} if measured else {})},
    }
