"""The planner: from a source format and the requested targets to a DAG of stage steps.

Everything comes from the registry (`stages/catalog.py`, from each framework's registry.py): which load
stage reads the source, whether a surgery stage exists for its format, every chain of export/emit stages
(a *route*) to each target, a quantize step per mode and a validate step per artifact.

An artifact (target, precision) has routes in the order the registry prefers them: the sum of the
preferences its converters declare, then the fewer hops, then registry order. The flow makes the
artifact by the first route; when a converter on it fails or its artifact misses the gate, by the next.
A quantized artifact is made from the fp32 artifact of its route, and only where that one passed its gate.
Steps that routes share (the same converter on the same input) run once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from flows.config import ConvertRequest
from flows.errors import ConversionError
from stages import catalog

CONVERTERS = ("export", "emit")  # stages that turn one format into another
REFERENCE = "reference"  # the stage that makes the source's golden outputs beside the routes, where one does
MAX_HOPS = 4


@dataclass(frozen=True)
class Step:
    id: str
    stage: str
    impl: str
    inputs: tuple[str, ...]  # ids of the steps whose bundles this one reads; () = the source
    config: dict = field(hash=False, compare=False)
    label: str = ""
    artifact: tuple[str, str] | None = None  # (target, precision) when this step's bundle is an artifact

    @property
    def image(self) -> str:
        return catalog.get(self.stage, self.impl).image

    @property
    def name(self) -> str:
        return f"{self.stage}/{self.impl} {self.label}".strip()


@dataclass(frozen=True)
class Route:
    """One way to make an artifact: the steps after the trunk (the last one makes it), and its validation."""

    steps: tuple[Step, ...]
    validate: Step
    needs: Step | None = None  # a quantized artifact's: the validation of the fp32 artifact it comes from
    diagnose: Step | None = None  # run when the artifact misses its gate: where it leaves the route's ONNX graph

    @property
    def made_by(self) -> Step:
        return self.steps[-1]

    def describe(self, trunk: list[Step]) -> str:
        """`load/onnx → emit/onnx2tf → emit/savedmodel-tflite` (the trunk's last step, then the route)."""
        chain = {step.id: step for step in (*trunk[-1:], *self.steps)}
        return " → ".join(step.name for step in chain.values())


@dataclass(frozen=True)
class Artifact:
    target: str
    precision: str
    routes: tuple[Route, ...]  # in order of preference

    @property
    def name(self) -> str:
        return f"{self.target}/{self.precision}"


@dataclass
class Plan:
    trunk: list[Step]  # load (and surgery): every route starts from its last step
    artifacts: list[Artifact]
    # the source's golden outputs, made beside the routes where the load stage leaves them to a stage of
    # their own (reference/onnx); every validation reads them
    reference: Step | None = None

    @property
    def steps(self) -> list[Step]:
        """The steps of every artifact's preferred route, shared ones once, in an order that runs."""
        return _ordered(self.trunk, self.reference, [a.routes[0] for a in self.artifacts])

    @property
    def every_step(self) -> list[Step]:
        """The steps of every route, fallbacks included."""
        return _ordered(self.trunk, self.reference, [route for a in self.artifacts for route in a.routes])


def _ordered(trunk: list[Step], reference: Step | None, routes: list[Route]) -> list[Step]:
    steps = {step.id: step for step in (*trunk, *([reference] if reference else []))}
    for route in routes:  # converters and quantizers first, then validations, as the DAG reads
        for step in route.steps:
            steps.setdefault(step.id, step)
    for route in routes:
        steps.setdefault(route.validate.id, route.validate)
    return list(steps.values())


def _framework(request: ConvertRequest, impl: catalog.Impl) -> dict:
    """The frameworks' own options given in the request that reach this step (stages/options.py)."""
    values = request.options.model_dump()
    return {
        d.option.name: values[d.option.name]
        for d in catalog.OPTIONS
        if d.reaches(impl) and d.option.given(values[d.option.name])
    }


def _config(stage: str, request: ConvertRequest, impl: catalog.Impl, option: str = "") -> dict:
    # Options that are off add nothing, so they do not change the cache keys of existing runs;
    # --bind says how to open the source: it goes to every stage that opens it.
    opening = {"bind": request.bind} if request.bind else {}
    described = {"input_ranges": request.input_ranges} if request.input_ranges else {}
    if request.normalize.given():
        described["normalize"] = request.normalize.model_dump()
    route: dict[str, object] = {}
    if impl.settings:
        route["settings"] = impl.settings_dict()
    if "portable" in impl.takes and "tfjs" in request.targets:
        route["portable"] = True  # the SavedModel may go on to TFJS (one run serves every target)
    configs: dict[str, Callable[[], dict]] = {
        "load": lambda: {"input_shapes": request.input_shapes, **opening, **described},
        "reference": lambda: {},
        "surgery": lambda: {},
        "export": lambda: {**opening, **route},
        "emit": lambda: {**opening, **route},
        "quantize": lambda: {"mode": option},
        "validate": lambda: {
            "gates": request.gates.model_dump(),
            "profile": request.profile_runs,
            **({"task": request.task} if request.task else {}),
            **({"labels": request.labels} if request.labels is not None else {}),
        },
    }
    return {**configs[stage](), **_framework(request, impl)}


def routes(start: str, goal: str) -> list[tuple[catalog.Impl, ...]]:
    """Every chain of converters from format `start` to `goal` (no format twice, at most MAX_HOPS),
    preferred first: the lowest sum of declared preferences, then the fewest hops, then registry order."""
    order = {impl.key: index for index, impl in enumerate(catalog.IMPLS)}
    found: list[tuple[catalog.Impl, ...]] = []

    def walk(fmt: str, chain: tuple[catalog.Impl, ...], seen: frozenset[str]) -> None:
        if fmt == goal:
            found.append(chain)
            return
        if len(chain) == MAX_HOPS:
            return
        for impl in catalog.IMPLS:
            if impl.stage in CONVERTERS and fmt in impl.consumes and impl.produces not in seen:
                walk(impl.produces, chain + (impl,), seen | {impl.produces})

    walk(start, (), frozenset({start}))
    if not found:
        raise ConversionError("plan", f"no chain of stages turns a {start!r} model into {goal!r}")
    return sorted(
        found, key=lambda chain: (sum(i.preference for i in chain), len(chain), [order[i.key] for i in chain])
    )


def _diagnosis(trunk: list[Step], steps: list[Step] | tuple[Step, ...], made: Step, goal: str) -> Step | None:
    """The step that locates where `made` (a `goal` artifact) leaves the ONNX graph of its route (the last
    one on it), where the registry has one for its format and the route has an ONNX graph."""
    graphs = [s for s in (*trunk, *steps) if catalog.get(s.stage, s.impl).produces == "onnx"]
    try:
        impl = catalog.find("diagnose", goal)
    except KeyError:
        return None
    if not graphs or graphs[-1].id == made.id:
        return None
    return Step(f"diagnose:{made.id}", "diagnose", impl.name, (made.id, graphs[-1].id), {}, made.label)


def _refuse_foreign_source_options(request: ConvertRequest, source_format: str) -> None:
    """An option of the stages that read a source (--epoch, --signature, --strip-preprocess …) given for a
    source of another framework: refused, naming the sources it applies to, rather than silently ignored."""
    values = request.options.model_dump()
    foreign = [
        d
        for d in catalog.OPTIONS
        if d.option.reads_source
        and d.option.given(values[d.option.name])
        and source_format not in {catalog.SOURCES[s] for s in d.sources}
    ]
    by_sources: dict[tuple[str, ...], list[str]] = {}
    for declared in foreign:
        by_sources.setdefault(declared.sources, []).append(declared.option.cli_flag)
    if by_sources:
        name = next(s for s, fmt in catalog.SOURCES.items() if fmt == source_format)
        raise ConversionError(
            "plan",
            "; ".join(
                f"{_and(flags)} appl{'ies' if len(flags) == 1 else 'y'} to {_and(list(sources))} sources"
                for sources, flags in by_sources.items()
            )
            + f"; this source is {name!r}",
        )


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def plan(request: ConvertRequest, source_format: str) -> Plan:
    _refuse_foreign_source_options(request, source_format)
    load = catalog.find("load", source_format)
    trunk = [Step("load", "load", load.name, (), _config("load", request, load))]
    model_format = load.produces
    with suppress(KeyError):  # a surgery stage, where the model's framework has one
        surgery = catalog.find("surgery", model_format)
        trunk.append(Step("surgery", "surgery", surgery.name, ("load",), _config("surgery", request, surgery)))
    reference = None
    with suppress(KeyError):  # golden outputs made beside the conversion, where the framework has such a stage
        found = catalog.find(REFERENCE, model_format)
        reference = Step(REFERENCE, REFERENCE, found.name, (trunk[-1].id,), _config(REFERENCE, request, found))
    golden = (reference.id,) if reference else ()  # what each validation reads besides its artifact

    artifacts: list[Artifact] = []
    pinned: list[str] = []
    for target in request.targets:
        goal = catalog.TARGETS[target]
        validate = catalog.find("validate", goal)
        chains = routes(model_format, goal)
        through = [c for c in chains if set(request.via) <= {i.name for i in c}]
        if through:  # --via pins the converters of the targets it can reach; the others keep theirs
            chains, pinned = through, pinned + [target]
        if any(m in catalog.quantize_modes(target) for m in request.quantize):
            # quantized artifacts come from a route's fp32 one: a route they can come from goes first, so
            # one conversion makes them all (onnx2tf 2's direct TFLite has no SavedModel for TF's quantizer);
            # a source that is its own artifact stays first, since it converts nothing
            chains = sorted(chains, key=lambda chain: bool(chain) and not chain[-1].quantizable and not chain[-1].as_is)
        if not request.fallback:
            chains = chains[:1]
        fp32_routes = []
        for chain in chains:
            steps, node = [], trunk[-1]
            for impl in chain:
                node = Step(
                    f"{impl.stage}/{impl.name}<-{node.id}",
                    impl.stage,
                    impl.name,
                    (node.id,),
                    _config(impl.stage, request, impl),
                )
                steps.append(node)
            if not steps:  # the source is the target already (a SavedModel to SavedModel)
                steps.append(node)
            fp32_routes.append(
                Route(
                    tuple(steps),
                    Step(
                        f"validate:{steps[-1].id}",
                        "validate",
                        validate.name,
                        (steps[-1].id, *golden),
                        _config("validate", request, validate),
                        "fp32",
                        artifact=(target, "fp32"),
                    ),
                    diagnose=_diagnosis(trunk, steps, steps[-1], goal),
                )
            )
        artifacts.append(Artifact(target, "fp32", tuple(fp32_routes)))
        for mode in (m for m in request.quantize if m in catalog.quantize_modes(target)):
            quantize = catalog.find("quantize", goal)
            quantized = []
            for route in fp32_routes:
                made = route.made_by
                if not catalog.get(made.stage, made.impl).quantizable:
                    continue
                step = Step(
                    f"quantize/{mode}<-{made.id}",
                    "quantize",
                    quantize.name,
                    (made.id,),
                    _config("quantize", request, quantize, option=mode),
                    label=mode,
                )
                quantized.append(
                    Route(
                        route.steps + (step,),
                        Step(
                            f"validate:{step.id}",
                            "validate",
                            validate.name,
                            (step.id, *golden),
                            _config("validate", request, validate),
                            mode,
                            artifact=(target, mode),
                        ),
                        needs=route.validate,
                        diagnose=_diagnosis(trunk, route.steps, step, goal),
                    )
                )
            artifacts.append(Artifact(target, mode, tuple(quantized)))
    if request.via and not pinned:
        raise ConversionError(
            "plan", f"no route to {', '.join(request.targets)} goes through {' and '.join(request.via)}"
        )
    return Plan(trunk, artifacts, reference)


def describe(plan: Plan) -> str:
    """The DAG as text, one step a line, for `modelferry convert --plan`; then each artifact's fallbacks."""
    steps = plan.steps
    by_id = {step.id: step for step in plan.every_step}
    made = {route.made_by.id: a for a in plan.artifacts for route in a.routes[:1]}
    width = max(len(step.name) for step in steps)
    lines = []
    for step in steps:
        reads = ", ".join(by_id[i].name for i in step.inputs) or "the source files"
        artifact = made.get(step.id)
        publishes = (
            f"  => publishes {artifact.target} {artifact.precision}" if artifact and step.stage != "validate" else ""
        )
        lines.append(f"{step.name.ljust(width)}  {('[' + step.image + ']').ljust(8)} <- {reads}{publishes}")
    fallbacks = [(a, route) for a in plan.artifacts if a.precision == "fp32" for route in a.routes[1:]]
    if fallbacks:
        lines.append(
            "fallback routes, tried in this order when the one above fails or misses its gate "
            "(a quantized artifact comes from the route whose fp32 artifact passed):"
        )
        lines += [f"  {a.name}: {route.describe(plan.trunk)}" for a, route in fallbacks]
    return "\n".join(lines)
