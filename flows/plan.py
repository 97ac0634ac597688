"""The planner: from a source format and the requested targets to a DAG of stage steps.

Everything comes from the registry (`stages/catalog.py`): which load stage
reads the source, whether a surgery stage exists for its format, the
shortest chain of export/emit stages to each target (steps shared between
targets run once), a quantize step per mode and a validate step per artifact.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from flows.config import ConvertRequest
from flows.errors import ConversionError
from stages import catalog

CONVERTERS = ("export", "emit")   # stages that turn one format into another


@dataclass(frozen=True)
class Step:
    id: str
    stage: str
    impl: str
    inputs: tuple[str, ...]          # ids of the steps whose bundles this one reads; () = the source
    config: dict = field(hash=False, compare=False)
    label: str = ""
    artifact: tuple[str, str] | None = None   # (target, precision) when this step's bundle is published

    @property
    def image(self) -> str:
        return catalog.get(self.stage, self.impl).image

    @property
    def name(self) -> str:
        return f"{self.stage}/{self.impl} {self.label}".strip()


def _config(stage: str, request: ConvertRequest, option: str = "") -> dict:
    # Options that are off add nothing, so they do not change the cache keys of existing runs;
    # those that say how to open the source go to every stage that opens it.
    opening = {"trust_custom_code": True} if request.trust_custom_code else {}
    if request.signature:
        opening["signature"] = request.signature
    if request.bind:
        opening["bind"] = request.bind
    graph = {key: names for key, names in (("graph_inputs", request.graph_inputs),
                                           ("graph_outputs", request.graph_outputs)) if names}
    described = {"input_ranges": request.input_ranges} if request.input_ranges else {}
    if request.normalize.given():
        described["normalize"] = request.normalize.model_dump()
    configs = {
        "load": lambda: {"input_shapes": request.input_shapes,
                         **({"simplify": True} if request.simplify else {}), **opening, **graph, **described},
        "surgery": lambda: {"strip_preprocess": request.strip_preprocess, "rename": request.rename,
                            "output_layer": request.output_layer},
        "export": lambda: {"opset": request.opset, **opening},
        "emit": lambda: {**opening},
        "quantize": lambda: {"mode": option},
        "validate": lambda: {"gates": request.gates.model_dump()},
    }
    return configs[stage]()


def _route(start: str, goal: str) -> list[catalog.Impl]:
    """The shortest chain of converters from format `start` to `goal` (registry order breaks ties)."""
    queue, seen = deque([(start, [])]), {start}
    while queue:
        fmt, path = queue.popleft()
        if fmt == goal:
            return path
        for impl in catalog.IMPLS:
            if impl.stage in CONVERTERS and fmt in impl.consumes and impl.produces not in seen:
                seen.add(impl.produces)
                queue.append((impl.produces, path + [impl]))
    raise ConversionError("plan", f"no chain of stages turns a {start!r} model into {goal!r}")


def _surgery_requested(request: ConvertRequest) -> bool:
    return bool(request.strip_preprocess or request.rename or request.output_layer)


def plan(request: ConvertRequest, source_format: str) -> list[Step]:
    steps: dict[str, Step] = {}

    def add(step: Step) -> Step:
        return steps.setdefault(step.id, step)

    load = catalog.find("load", source_format)
    current = add(Step("load", "load", load.name, (), _config("load", request)))
    model_format = load.produces
    try:
        surgery = catalog.find("surgery", model_format)
        current = add(Step("surgery", "surgery", surgery.name, (current.id,), _config("surgery", request)))
    except KeyError:
        if _surgery_requested(request):
            raise ConversionError("plan", f"--strip-preprocess, --rename and --output-layer apply to "
                                          f"MXNet sources; this source is {model_format!r}") from None

    artifacts: list[Step] = []
    for target in request.targets:
        goal = catalog.TARGETS[target]
        node = current
        for impl in _route(model_format, goal):
            node = add(Step(f"{impl.stage}:{impl.produces}<-{node.id}", impl.stage, impl.name, (node.id,),
                            _config(impl.stage, request)))
        artifact = Step(node.id, node.stage, node.impl, node.inputs, node.config, node.label,
                        artifact=(target, "fp32"))
        steps[node.id] = artifact
        artifacts.append(artifact)
        for mode in (m for m in request.quantize if m in catalog.quantize_modes(target)):
            quantize = catalog.find("quantize", goal)
            artifacts.append(add(Step(f"quantize:{target}/{mode}", "quantize", quantize.name, (node.id,),
                                      _config("quantize", request, mode), label=mode,
                                      artifact=(target, mode))))
    for artifact in artifacts:
        target, precision = artifact.artifact
        validate = catalog.find("validate", catalog.TARGETS[target])
        add(Step(f"validate:{target}/{precision}", "validate", validate.name, (artifact.id,),
                 _config("validate", request), label=precision))
    return list(steps.values())


def describe(steps: list[Step]) -> str:
    """The DAG as text, one step a line, for `modelferry convert --plan`."""
    width = max(len(step.name) for step in steps)
    lines = []
    for step in steps:
        reads = ", ".join(steps_by_id(steps)[i].name for i in step.inputs) or "the source files"
        publishes = f"  => publishes {step.artifact[0]} {step.artifact[1]}" if step.artifact else ""
        lines.append(f"{step.name.ljust(width)}  {('[' + step.image + ']').ljust(8)} <- {reads}{publishes}")
    return "\n".join(lines)


def steps_by_id(steps: list[Step]) -> dict[str, Step]:
    return {step.id: step for step in steps}
