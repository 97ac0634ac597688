"""`modelferry inspect MODEL`: what a model is and which targets will take it, before converting.

The model is read by the stages a conversion would run (its load and, for a source that is not ONNX, its
export to ONNX: each in its runtime and sandbox, cached like any stage), then its ONNX graph by
`inspect/onnx`, which parses it and runs nothing. An ONNX source goes to `inspect/onnx` directly, so a graph
whose dimensions are not all known yet is inspected too. What it tells (docs/op-support.json is the op
table of modelferry's own emitters):
- the inputs and outputs (names, dims, dtypes), the opsets, the op histogram, the parameters;
- each target's routes, in the order a conversion tries them, and for each emitter on a route that has an
  op table, the model's ops it has no handler for (third-party converters have none: they are tried);
- the options a conversion will probably need, and why.
Prefect is not involved: nothing is published.
"""

from __future__ import annotations

import json
from pathlib import Path

from flows import REPO_ROOT
from flows.config import ConvertRequest
from flows.errors import ConversionError
from flows.plan import plan as make_plan
from flows.runtimes import RuntimeSpec, resolve_auto
from flows.source import resolve
from flows.stage_run import run_or_reuse
from stages import catalog
from stages.bundle import Bundle

OP_TABLE = REPO_ROOT / "docs" / "op-support.json"
INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
IMAGE_CHANNELS = (1, 3)


def inspect_model(request: ConvertRequest) -> dict:
    source = resolve(request.source, dict(request.options))
    spec, _ = resolve_auto(RuntimeSpec(request.runtime, request.stage_memory, request.stage_cpus, request.jobs))
    bundle = source.bundle()
    graph, read_by = _onnx_graph(request, source.bundle_format, bundle, spec)
    outcome = run_or_reuse("inspect", "onnx", {}, [graph], spec, request.stage_timeout_s)
    found = Bundle.read(outcome.bundle).manifest["inspection"]
    return {
        "model": source.info["files"]["model"]["name"] if "model" in source.info["files"] else source.name,
        "format": source.format,
        "read_by": read_by,
        **found,
        "targets": targets(request, source.bundle_format, found),
        "options": suggestions(found, request),
    }


def _onnx_graph(request: ConvertRequest, bundle_format: str, bundle: Path, spec: RuntimeSpec) -> tuple[Path, list]:
    """The ONNX graph to read, and the stages that made it: none for an ONNX source, else the load (and
    surgery) and the first route to ONNX, as a conversion to ONNX runs them."""
    if bundle_format in catalog.get("inspect", "onnx").consumes:  # the user's ONNX file itself
        return bundle, []
    plan = make_plan(request.model_copy(update={"targets": ["onnx"], "quantize": [], "via": []}), bundle_format)
    steps = [*plan.trunk, *(s for s in plan.artifacts[0].routes[0].steps if s.id not in {t.id for t in plan.trunk})]
    made: dict[str, Path] = {}
    for step in steps:
        inputs = [made[i] for i in step.inputs] or [bundle]
        made[step.id] = run_or_reuse(
            step.stage, step.impl, step.config, inputs, spec, request.stage_timeout_s, step.label
        ).bundle
    return made[steps[-1].id], [step.name for step in steps]


def op_table() -> dict[str, dict]:
    return json.loads(OP_TABLE.read_text())


def lacking(ops: dict[str, int], opsets: dict[str, int], handled: dict[str, list]) -> list[str]:
    """The ops (domain:Op outside ONNX's own domain) an emitter has no handler for at the model's opsets."""
    missing = []
    for op in ops:
        domain = op.rpartition(":")[0] or "ai.onnx"
        version = opsets.get(domain, 1)
        spans = handled.get(op, [])
        if not any(since <= version and (until is None or version <= until) for since, until in spans):
            missing.append(op)
    return missing


def targets(request: ConvertRequest, bundle_format: str, found: dict) -> list[dict]:
    """Per target: its routes, preferred first, each with the ops its own emitters lack."""
    table = op_table()
    rows = []
    for target in catalog.TARGETS:
        asked = request.model_copy(update={"targets": [target], "quantize": [], "via": [], "fallback": True})
        try:
            plan = make_plan(asked, bundle_format)
        except ConversionError as exc:
            rows.append({"target": target, "routes": [], "reason": exc.cause})
            continue
        routes = []
        for route in plan.artifacts[0].routes:
            checked = {
                step.name: lacking(found["ops"], found["opsets"], table[step.name]["ops"])
                for step in route.steps
                if step.name in table
            }
            routes.append({"route": route.describe(plan.trunk), "lacking": checked})
        rows.append({"target": target, "routes": routes})
    return rows


def suggestions(found: dict, request: ConvertRequest) -> list[dict]:
    """The options a conversion of this model will probably need, each with why (given ones say so)."""
    said = []
    for value in found["inputs"]:
        name, dims, dtype = value["name"], value["dims"], value["dtype"]
        unknown = [i for i, d in enumerate(dims) if not isinstance(d, int) or d <= 0]
        shape = ",".join("1" if i in unknown else str(d) for i, d in enumerate(dims))
        given = name in request.input_shapes
        if len(unknown) > 1:
            said.append(
                {
                    "option": f"--input-shape {name}:{shape}",
                    "needed": True,
                    "given": given,
                    "why": f"{name} has {len(unknown)} dimensions the graph does not fix ({_dims(dims)}): "
                    f"give its real shape",
                }
            )
        elif unknown:
            said.append(
                {
                    "option": f"--input-shape {name}:{shape}",
                    "needed": False,
                    "given": given,
                    "why": f"{name}'s one dynamic dimension ({_dims(dims)}) is taken as the batch, at 1; "
                    f"give the shape if it is not a batch",
                }
            )
        if dtype in INTEGER_DTYPES:
            said.append(
                {
                    "option": f"--input-range {name}:LOW,HIGH",
                    "needed": True,
                    "given": name in request.input_ranges,
                    "why": f"{name} is {dtype}: the samples modelferry makes need its values' range (token "
                    f"ids: 0 to the vocabulary's size)",
                }
            )
        elif _picture(dims, dtype):
            said.append(
                {
                    "option": "--mean M,M,M --std S,S,S --channel-order rgb|bgr (or --samples PICTURES/)",
                    "needed": False,
                    "given": request.normalize.given(),
                    "why": f"{name} looks like a picture ({_dims(dims)}, {dtype}): say how pixels become "
                    f"its values, or the samples are only made up",
                }
            )
    return said


def _picture(dims: list, dtype: str) -> bool:
    if len(dims) != 4 or not dtype.startswith("float"):
        return False
    return dims[1] in IMAGE_CHANNELS or dims[3] in IMAGE_CHANNELS


def _dims(dims: list) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def as_text(found: dict) -> str:
    """The inspection as a person reads it: model, inputs and outputs, ops, targets, options."""
    opsets = ", ".join(f"{domain} {version}" for domain, version in found["opsets"].items())
    read = f"; read as ONNX by {' → '.join(found['read_by'])}" if found["read_by"] else ""
    lines = [
        f"{found['model']} ({found['format']}): {found['nodes']} nodes, {found['parameters']:,} parameters "
        f"({found['parameter_bytes'] / 1e6:.1f} MB), opsets {opsets}{read}",
        "",
        "inputs",
    ]
    lines += [f"  {v['name']}  {v['dtype']}{_dims(v['dims'])}" for v in found["inputs"]]
    lines += ["outputs"] + [f"  {v['name']}  {v['dtype']}{_dims(v['dims'])}" for v in found["outputs"]]
    by_count = sorted(found["ops"].items(), key=lambda item: (-item[1], item[0]))
    lines += ["", f"ops ({len(found['ops'])} kinds)", "  " + ", ".join(f"{op} {n}" for op, n in by_count)]
    return "\n".join([*lines, "", *_target_lines(found["targets"]), "", *_option_lines(found["options"])])


def _target_lines(rows: list[dict]) -> list[str]:
    lines = [
        "targets: routes in the order a conversion tries them; [ ]: ops an emitter of modelferry's own has no "
        "handler for in the graph as it is (its legalization may fold some first, e.g. Shape once the shapes "
        "are fixed)"
    ]
    for row in rows:
        if not row["routes"]:
            lines.append(f"  {row['target']}: no route ({row.get('reason', '')})")
        for index, route in enumerate(row["routes"]):
            lacks = "; ".join(
                f"{emitter} has no handler for {', '.join(ops)}" for emitter, ops in route["lacking"].items() if ops
            )
            lines.append(
                f"  {row['target'] if index == 0 else '':<10} {route['route']}" + (f"  [{lacks}]" if lacks else "")
            )
    return lines


def _option_lines(options: list[dict]) -> list[str]:
    if not options:
        return ["options", "  none needed: every input's shape is fixed, none is an integer or a picture"]
    return ["options"] + [
        f"  {o['option']}  ({'given' if o['given'] else 'needed' if o['needed'] else 'advised'}) {o['why']}"
        for o in options
    ]
