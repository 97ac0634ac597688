"""The `modelferry` command line."""
from __future__ import annotations

import atexit
import inspect
import json
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from flows.config import DEFAULT_GATES, PROFILE_RUNS, TASKS
from flows.source import known_sources
from stages import catalog

# One line per message, for logs; a log's tables are not squeezed into 80 columns.
console = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200)


def _formats() -> str:
    return (f"Sources: {', '.join(catalog.SOURCES)}.  Targets (--to): {', '.join(catalog.TARGETS)}.  "
            f"Quantization (--quantize): {', '.join(catalog.QUANTIZE_MODES)}.  `modelferry support-matrix` lists "
            f"the routes from each source to each target and every stage implementation.")


app = typer.Typer(help=f"Convert trained models between frameworks, validated against the source.\n\n{_formats()}",
                  no_args_is_help=True, add_completion=False)
images_app = typer.Typer(help="Runtime images: one pinned lock file per framework.", no_args_is_help=True)
runtime_app = typer.Typer(help="Run things inside a stage runtime.", no_args_is_help=True)
server_app = typer.Typer(help="modelferry's Prefect server on 127.0.0.1: started once, used by every "
                                  "conversion after it (PREFECT_API_URL, when set, wins).", no_args_is_help=True)
app.add_typer(images_app, name="images")
app.add_typer(server_app, name="server")
hooks_app = typer.Typer(help="MLflow model-registry hooks: a new version (or tag, or alias) that matches a rule "
                             "is converted and the results written back to the registry (MLFLOW_TRACKING_URI).",
                        no_args_is_help=True)
app.add_typer(hooks_app, name="hooks")
app.add_typer(runtime_app, name="runtime")


def _prefect_defaults(verbose: bool) -> None:
    """Quiet, local Prefect unless the user configured otherwise (set before prefect is imported)."""
    # Stage failures are reported by modelferry itself; Prefect's tracebacks only with --verbose.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


def _who() -> str:
    from flows.progress import model

    return f"[magenta]{escape(model.get())}[/] " if model.get() else ""


class RichReporter:
    def started(self, name, image, runtime):
        console.print(f"{_who()}[cyan]▶[/] {name} [dim]({image} image, {runtime})[/] …")

    def finished(self, name, seconds, cached):
        console.print(f"{_who()}[green]✓[/] {name} " + ("[dim]cached[/]" if cached else f"{seconds:.1f}s"))

    def failed(self, name, reason):
        console.print(f"{_who()}[red]✗[/] {name}: {escape(reason)}")

    def note(self, text):
        console.print(f"{_who()}[dim]{escape(text)}[/]")


def _use_server() -> None:
    from flows.server import ServerError, use

    try:
        use(note=lambda text: console.print(f"[dim]{escape(text)}[/]"))
    except ServerError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1)


def _in_this_process():
    """Prefect settings for a flow run by the CLI itself. No heartbeats: they tell a server that a run whose
    process died (a worker's flow run) has crashed; here the CLI is the process and reports its own end
    (SIGTERM and Ctrl-C mark the run crashed), and stopping the heartbeat thread costs up to 1 s per call."""
    import prefect.settings as settings

    return settings.temporary_settings(updates={settings.PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


@contextmanager
def _engine(verbose: bool = False):
    """What every command that runs flows here needs: quiet Prefect defaults and a server (before Prefect is
    imported: it reads PREFECT_API_URL once), progress on the console, SIGTERM and Ctrl-C ending every
    running stage in every branch, and the CLI's own Prefect settings."""
    _prefect_defaults(verbose)
    _use_server()
    _report_and_interrupt()
    with _in_this_process():
        yield


def _report_and_interrupt() -> None:
    """Progress on the console; SIGTERM and Ctrl-C end every running stage in every branch."""
    from flows import progress

    progress.use(RichReporter())
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


# A framework option's kind -> its flag's Python type for typer, and the flag's default when not given.
CLI_TYPES: dict[str, tuple[object, object]] = {
    "flag": (bool, False), "text": (Optional[str], None), "int": (Optional[int], None),
    "names": (Optional[str], None), "pairs": (List[str], [])}


def _framework_option(declared: catalog.Declared) -> inspect.Parameter:
    option = declared.option
    python, default = CLI_TYPES[option.kind]
    names = [f"{option.cli_flag}/--no-{option.cli_flag[2:]}"] if option.kind == "flag" else [option.cli_flag]
    value = option.default if option.default is not None else default
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, annotation=python,
                             default=typer.Option(value, *names, help=option.help,
                                                  rich_help_panel=f"Options of {declared.framework} "
                                                                  f"(stages/{declared.framework})"))


def _with_framework_options(command):
    """The command with each framework's own options (`OPTIONS` in stages/<fw>/registry.py) as flags: its
    `**framework` becomes one keyword parameter per option, which typer reads from the signature."""
    signature = inspect.signature(command)
    fixed = [p for p in signature.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
    command.__signature__ = signature.replace(parameters=fixed + [_framework_option(d) for d in catalog.OPTIONS])
    return command


# convert's options in groups, as its --help shows them (each framework's own options have a group of their own).
CONVERT_PANELS = {
    "Targets and routes": ("to", "quantize", "fallback", "via", "show_plan"),
    "Inputs and samples": ("samples", "calibration", "input_shape", "input_range", "mean", "std", "channel_order",
                           "bind"),
    "Where it is published": ("out", "name", "s3_endpoint_url"),
    "Gates, task and profiling": ("gate_fp32_max_abs", "gate_fp16_cosine", "gate_fp16_max_abs", "gate_int8_cosine",
                            "gate_int8_max_abs", "task", "labels", "profile"),
    "Runtime and resources": ("runtime", "jobs", "stage_cpus", "stage_memory", "stage_timeout", "verbose"),
}


def _grouped(panels: dict[str, tuple[str, ...]]):
    """The command's options in help panels, by parameter name."""
    def group(command):
        for parameter in inspect.signature(command).parameters.values():
            panel = next((p for p, names in panels.items() if parameter.name in names), None)
            if panel is not None and isinstance(parameter.default, typer.models.OptionInfo):
                parameter.default.rich_help_panel = panel
        return command
    return group


@app.command(help=f"Convert a model and publish validated artifacts with a report.\n\n{_formats()}")
@_with_framework_options
@_grouped(CONVERT_PANELS)
def convert(
    source: str = typer.Argument(..., help=f"The model: {known_sources()}; or s3://bucket/key (its companion "
                                           "files come with it), or models:/name/version (MLflow)."),
    to: str = typer.Option("onnx,tflite", "--to", help=f"Targets, comma-separated: {', '.join(catalog.TARGETS)}."),
    quantize: Optional[str] = typer.Option(None, help="Quantized variants, comma-separated: " + "; ".join(
        f"{t}: {', '.join(catalog.quantize_modes(t))}" for t in catalog.TARGETS if catalog.quantize_modes(t)) + "."),
    calibration: Optional[Path] = typer.Option(None, help=".npz keyed by input name, or a folder of pictures: "
                                                       "int8 calibration data."),
    samples: Optional[Path] = typer.Option(None, help=".npz keyed by input name (one array for a one-input model), "
                                                      "or a folder of pictures (jpg, png): reference inputs for "
                                                      "validation."),
    input_shape: List[str] = typer.Option([], help="name:1,3,112,112 (repeat per input; sr: for a scalar)."),
    input_range: List[str] = typer.Option([], help="name:low,high: the values an input takes, for the samples "
                                                   "modelferry makes (repeat per input)."),
    mean: Optional[str] = typer.Option(None, help="Image inputs: per-channel mean in 0-255 pixel units, e.g. "
                                                 "123.675,116.28,103.53 (input = (pixel - mean) / std)."),
    std: Optional[str] = typer.Option(None, help="Image inputs: per-channel std in 0-255 pixel units, e.g. "
                                                 "58.395,57.12,57.375."),
    channel_order: str = typer.Option("rgb", help="Image inputs: rgb or bgr."),
    bind: List[str] = typer.Option([], help="name=value: fix a scalar input or forward() argument to a constant "
                                            "(e.g. sr=16000; repeatable)."),
    out: str = typer.Option("./artifacts", help="Local directory or s3://bucket/prefix."),
    name: Optional[str] = typer.Option(None, help="The model's name in the store, OUT/NAME/ (default: the "
                                       "source's file name, or its folder's where that is generic: "
                                       "face/model-symbol.json is face)."),
    s3_endpoint_url: Optional[str] = typer.Option(None, envvar="MODELFERRY_S3_ENDPOINT_URL",
                                                  help="S3-compatible endpoint (MinIO, …)."),
    runtime: str = typer.Option("auto", help="auto (Docker where an engine answers, else venv) | docker | venv."),
    stage_memory: Optional[str] = typer.Option(None, help="docker: memory limit per stage, e.g. 4g (default 6g)."),
    stage_cpus: Optional[float] = typer.Option(None, help="CPU cores each stage runs on, pinned (default: the "
                                               "machine's cores / --jobs)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Stages run at once, one per independent "
                                       "branch of the DAG (default: one per core; 1 runs them one by one)."),
    stage_timeout: float = typer.Option(1800.0, help="Seconds a stage may run."),
    gate_fp32_max_abs: float = typer.Option(DEFAULT_GATES.fp32_max_abs,
                                            help="fp32 gate: max abs error <= this x max(1, max|golden|)."),
    gate_fp16_cosine: float = typer.Option(DEFAULT_GATES.fp16_cosine, help="fp16 gate: cosine similarity >= this."),
    gate_int8_cosine: float = typer.Option(DEFAULT_GATES.int8_cosine,
                                           help="int8 and dynamic-range gate: cosine similarity >= this."),
    gate_fp16_max_abs: float = typer.Option(DEFAULT_GATES.fp16_max_abs,
                                            help="fp16 also passes with max abs error <= this x max(1, max|golden|) "
                                                 "(a cosine means nothing on outputs near 0)."),
    gate_int8_max_abs: float = typer.Option(DEFAULT_GATES.int8_max_abs,
                                            help="int8 and dynamic-range also pass with max abs error <= this x "
                                                 "max(1, max|golden|)."),
    fallback: bool = typer.Option(True, "--fallback/--no-fallback", help="When a converter fails or its artifact "
                                  "misses the gate, try the next route to that target (--plan lists them)."),
    via: Optional[str] = typer.Option(None, help="Only routes through these converters, comma-separated (e.g. "
                                      "onnx-tf, onnx-tfops), for the targets such a route reaches."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs."),
    show_plan: bool = typer.Option(False, "--plan", help="Print the DAG of stages this would run, and stop."),
    task: Optional[str] = typer.Option(None, help=f"What the model does ({', '.join(TASKS)}): each artifact's "
                                       "agreement with the source on it (top-1 and top-5; the embeddings' cosine; "
                                       "the masks' IoU; a YOLO-style detector's boxes matched by IoU)."),
    labels: Optional[Path] = typer.Option(None, help=".npz: the class of each of your --samples, in their order "
                                          "(a folder's pictures by file name), with --task classify: the source's "
                                          "accuracy and each artifact's."),
    profile: int = typer.Option(PROFILE_RUNS, "--profile", help="Timed runs of one sample through each artifact, "
                                "in its runtime on this CPU, after a warm-up (at most 1 s of them; 0: none): "
                                "median and p90 latency, and the peak memory of its process."),
    **framework,   # each framework's own options (stages/<fw>/registry.py): see _with_framework_options
):
    from flows.options import error_messages, request_from_options
    from flows.remote import fetch, is_remote

    try:
        request = request_from_options({**locals(), **framework})
    except ValueError as exc:
        for message in error_messages(exc):
            console.print(f"[red]error:[/] {escape(message)}")
        raise typer.Exit(2)

    from flows.errors import ConversionError

    if is_remote(source):   # fetched once (kept by ETag), then converted like a local file
        try:
            fetched = fetch(source, request.s3_endpoint_url)
        except ConversionError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}")
            console.print("[red]nothing was published[/]")
            raise typer.Exit(1)
        request = request.model_copy(update={"source": fetched.path, "origin": fetched.origin,
                                             "name": request.name or fetched.name})
    if show_plan:
        _print_plan(request)
        return

    from flows.early import begin_first_stage

    started = time.monotonic()
    try:
        _report_and_interrupt()
        begin_first_stage(request)   # before Prefect is imported: the stage goes on beside that import
        with _engine(verbose):
            from flows.convert import convert as convert_flow

            result = convert_flow(request)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]: nothing was published")
        raise typer.Exit(130)
    except ConversionError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        if exc.log_tail and verbose:
            console.print("[dim]last lines of the stage's log:[/]")
            console.print(exc.log_tail, markup=False)
        elif exc.log_tail:
            console.print("[dim](-v shows the last lines of the stage's log)[/]")
        console.print("[red]nothing was published[/]" + (f"; the run's report: "
                                                         f"{escape(exc.report_location)}/report.json"
                                                         if exc.report_location else ""))
        raise typer.Exit(1)
    _print_summary(result.report, result.location, time.monotonic() - started)
    if result.report["status"] != "passed":
        raise typer.Exit(1)


@app.command(help="Convert every model of a YAML manifest (keys: convert's long options with underscores), "
                  "up to --parallel at once; publish each, and a batch report under OUT/_batches/.")
def batch(manifest: Path = typer.Argument(..., help="models.yaml: `out`, `defaults` and `models` (each with a "
                                          "`source`: a path relative to the manifest, or s3://bucket/key)."),
          parallel: int = typer.Option(1, "--parallel", "-p", min=1, help="Conversions at once (their stages "
                                       "share one CPU budget)."),
          verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs.")):
    from flows.batch import ManifestError, convert_command, load

    try:
        load(manifest, convert_command())   # every entry checked before any work
    except ManifestError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2)
    from flows.batch import table_rows

    try:
        with _engine(verbose):
            from flows.batch_flow import batch as batch_flow

            report = batch_flow(str(manifest.resolve()), parallel)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]: the batch report was not published")
        raise typer.Exit(130)
    _print_batch(report, table_rows(report))
    if report["status"] != "passed":
        raise typer.Exit(1)


def _print_batch(report: dict, rows: list[dict]) -> None:
    from rich.table import Table

    table = Table(title=f"batch {report['batch_id']}: {report['status']} ({report['counts']['passed']} passed, "
                        f"{report['counts']['failed']} failed, {report['counts']['error']} errors) in "
                        f"{report['seconds']:.1f}s at --parallel {report['parallel']}")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        style = "green" if row["status"] == "passed" else "red"
        table.add_row(*[f"[{style}]{escape(str(v))}[/]" if k == "status" else escape(str(v)) for k, v in row.items()])
    console.print(table)
    console.print(f"batch report: {report['location']}/report.html")


@app.command(help="Register the convert and batch deployments of infra/prefect.yaml (and the `modelferry` process "
                  "work pool) on the Prefect server; then run `prefect worker start --pool modelferry` on each "
                  "machine that converts.")
def deploy(manifest: Optional[Path] = typer.Option(None, help="The manifest the batch deployment's schedule converts "
                                                   "(without it, the batch deployment has no schedule)."),
           cron: Optional[str] = typer.Option(None, help="The batch schedule, in cron syntax (default: "
                                              "infra/prefect.yaml's, nightly at 03:00 UTC).")):
    if manifest is not None and not manifest.is_file():
        console.print(f"[red]error:[/] {manifest}: no such manifest")
        raise typer.Exit(2)
    with _engine():
        from flows.deploy import deploy as register

        registered = register(manifest, cron)
    for deployment in registered:
        when = f", scheduled {', '.join(deployment.schedules)}" if deployment.schedules else ""
        console.print(f"deployment {deployment.name} on work pool modelferry{when}")
    console.print("start a worker: prefect worker start --pool modelferry")


def _print_plan(request) -> None:
    from flows.errors import ConversionError
    from flows.plan import describe, plan
    from flows.source import resolve

    try:
        source = resolve(request.source, dict(request.options))
        console.print(f"{source.name} ({source.format}) -> {', '.join(request.targets)}", markup=False)
        console.print(describe(plan(request, source.bundle_format)), markup=False)
    except ConversionError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1)


def _interrupt(signum, frame):
    from flows.runtimes import reaper

    reaper.stop_all()   # stages run in the branches' threads: end them, and start no other
    raise KeyboardInterrupt


def _top1(parity: dict) -> str:
    """Top-1 agreement: the task's (--task classify, with accuracy when labelled), else the classifier-like one."""
    measured: dict = next(iter(((parity.get("task") or {}).get("outputs") or {}).values()), {})
    if "top1_agreement" in measured:
        accuracy = (f", accuracy {measured['artifact_accuracy']:.3f} (source {measured['source_accuracy']:.3f})"
                    if "artifact_accuracy" in measured else "")
        return f"{measured['top1_agreement']:.3f} (top-5 {measured['top5_agreement']:.3f}){accuracy}"
    return f"{parity['top1_agreement']:.3f}" if "top1_agreement" in parity else "–"


def _error(value: float) -> str:
    return "–" if value >= 1e300 else f"{value:.3g}"   # 1e300: not measurable (shapes differ, not finite)


def _print_summary(report: dict, location: str, seconds: float) -> None:
    from rich.table import Table

    samples = report.get("samples") or {}
    if samples.get("synthetic"):
        console.print(f"[yellow]note:[/] the samples were made up ({escape(samples['samples'])}); for gates that "
                      f"mean something, give real inputs (--samples FILE.npz or a folder of pictures) or say what "
                      f"the inputs are (--input-range, --mean/--std)")

    table = Table(title=f"{report['model']}: {report['status']} in {seconds:.1f}s")
    from flows.units import latency_text, size_text

    for column in ("target", "precision", "max abs err", "noise floor", "cosine", "top-1", "parity", "size",
                   "latency", "file"):
        table.add_column(column)
    for a in report["artifacts"]:
        p = a.get("parity")
        if p is None:
            table.add_row(a["target"], a["precision"], "–", "–", "–", "–", "[red]not made[/]", "–", "–",
                          "not published")
            continue
        table.add_row(a["target"], a["precision"], _error(p['max_abs_err']),
                      f"{p['noise_floor']:.2g}" if "noise_floor" in p else "–", f"{p['cosine']:.6f}",
                      _top1(p),
                      "[green]passed[/]" if p["passed"]
                      else f"[red]FAILED[/] ({escape(p['worst_output'])}: {escape(p['gate'])})",
                      size_text(a.get("bytes")), latency_text(a.get("latency")), a["path"] or "not published")
    console.print(table)
    for a in report["artifacts"]:
        if a["published"] and a["attempts"] and a["attempts"][0]["outcome"] != "passed":
            console.print(f"[yellow]↪ {a['target']}/{a['precision']}[/] made by a fallback route: "
                          f"{escape(a['route'])}")
        elif not a["published"]:
            console.print(f"[red]✗ {a['target']}/{a['precision']}[/] {escape(a['reason'])}; not published")
    console.print(f"published to {location}/ (report.json, report.html)")


@images_app.command("lock", help="Regenerate images/<name>/requirements.lock from requirements.in (uv, hashes).")
def images_lock(names: List[str] = typer.Argument(None, help="Images to lock; default all.")):
    from flows.images import lock

    for name in names or catalog.images():
        console.print(f"locking {name} …")
        lock(name)


@images_app.command("build", help="Build the runtime images (images/<name>/Dockerfile, else images/Dockerfile) from "
                                  "their lock files (no registry needed).")
def images_build(names: List[str] = typer.Argument(None, help="Images to build; default all."),
                 base: Optional[str] = typer.Option(None, help="Base image (default python:3.11-slim-bookworm, "
                                                            "else modelferry/base:bookworm-py311).")):
    from flows.images import ImageError, build

    for name in names or catalog.images():
        started = time.monotonic()
        try:
            tag, built = build(name, base, log=lambda text: console.print(escape(text)))
        except ImageError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}")
            raise typer.Exit(1)
        state = f"built in {time.monotonic() - started:.0f}s" if built else "unchanged"
        console.print(f"{name}: {tag} ({state})")


@images_app.command("list", help="The runtime images and the stages that run in them.")
def images_list():
    for image in catalog.images():
        impls = ", ".join(f"{i.stage}/{i.name}" for i in catalog.IMPLS if i.image == image)
        console.print(f"{image:<8} {impls}")


@runtime_app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                     help="Run a command in a runtime's environment: modelferry runtime exec mxnet -- python x.py "
                          "(docker: hardened like a stage, the working directory mounted read-only, the "
                          "--writable folders read-write)")
def runtime_exec(ctx: typer.Context, image: str = typer.Argument(...),
                 runtime: str = typer.Option("venv", help="venv | docker."),
                 writable: List[Path] = typer.Option([], help="A folder the command writes (docker: mounted "
                                                     "read-write; made if missing). Repeatable.")):
    from flows.runtimes import RuntimeSpec, select

    if image not in catalog.images():
        console.print(f"[red]error:[/] no runtime image {image!r}; known: {', '.join(catalog.images())}")
        raise typer.Exit(2)
    for folder in writable:
        folder.mkdir(parents=True, exist_ok=True)
    sys.exit(select(RuntimeSpec(runtime)).exec(image, ctx.args, [folder.resolve() for folder in writable]))


@server_app.command("start", help="Start the Prefect server in the background (its home: MODELFERRY_HOME/server).")
def server_start(port: Optional[int] = typer.Option(None, help="Port on 127.0.0.1 (default 4200, else a free one).")):
    from flows import server

    try:
        state = server.start(port, note=lambda text: console.print(f"[dim]{escape(text)}[/]"))
    except server.ServerError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1)
    console.print(f"Prefect server running: {state.ui} (API {state.url}, pid {state.pid})")


@server_app.command("stop", help="Stop the Prefect server.")
def server_stop():
    from flows import server

    state = server.stop()
    console.print(f"stopped the Prefect server on port {state.port} (pid {state.pid})" if state
                  else "no modelferry Prefect server was running")


@server_app.command("status", help="Whether the Prefect server runs and answers; exit code 1 when not.")
def server_status():
    from flows import server

    state = server.status()
    if state is None:
        console.print("no modelferry Prefect server is running (`modelferry server start`)")
        raise typer.Exit(1)
    healthy = server.answers(state.url)
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state.started_at))
    console.print(f"Prefect server {'running' if healthy else 'NOT ANSWERING'}: {state.ui} (API {state.url}, "
                  f"pid {state.pid}, since {since}; log {server.log_file()})")
    if not healthy:
        raise typer.Exit(1)


@app.command("inspect", help="What a model is and which targets will take it, before converting: its inputs and "
                  "outputs, ops, each target's routes with the ops modelferry's own emitters lack, and the options a "
                  "conversion will need. The model is read by the stages a conversion runs (sandboxed, cached); "
                  "nothing is run but its load, nothing is published.")
@_with_framework_options
def inspect_model(
    source: str = typer.Argument(..., help="The model, as `convert` takes it."),
    as_json: bool = typer.Option(False, "--json", help="Print it as JSON."),
    input_shape: List[str] = typer.Option([], help="name:1,3,112,112, as `convert` takes it (a source that is not "
                                                   "ONNX is loaded, and its load needs every shape)."),
    bind: List[str] = typer.Option([], help="name=value, as `convert` takes it."),
    runtime: str = typer.Option("auto", help="auto | docker | venv."),
    **framework,
):
    from flows.batch import convert_command
    from flows.errors import ConversionError
    from flows.inspect import as_text
    from flows.inspect import inspect_model as inspection
    from flows.options import error_messages, request_from_options

    given = {**framework, "source": source, "input_shape": input_shape, "bind": bind, "runtime": runtime}
    defaults = {p.name: p.default for p in convert_command().params}
    try:
        request = request_from_options({**defaults, **given})
    except ValueError as exc:
        for message in error_messages(exc):
            console.print(f"[red]error:[/] {escape(message)}")
        raise typer.Exit(2)
    from flows import progress

    progress.use(RichReporter())
    try:
        found = inspection(request)
    except ConversionError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1)
    print(json.dumps(found, indent=1) if as_json else as_text(found))


@app.command("support-matrix", help="Print which route the planner takes from each source to each target, the "
                                    "quantization modes and the stage implementations (from the registry).")
def support_matrix(write: bool = typer.Option(False, "--write",
                                              help="Also put it in docs/formats.md, between its markers.")):
    from flows.matrix import support_matrix as matrix
    from flows.matrix import write_doc

    print(matrix())
    if write:
        console.print("docs/formats.md updated" if write_doc() else "docs/formats.md was current")


def _rules(path: Path):
    from flows.batch import ManifestError
    from flows.hooks.rules import load

    try:
        return load(path)
    except ManifestError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2)


DISPATCH_HELP = ("auto: through the convert-model/convert deployment when a worker of the modelferry pool is "
                 "online, else here; deployment; local.")


@hooks_app.command("serve", help="Serve MLflow 3 webhooks (model_version.created, tag and alias events): verify "
                                 "each delivery's signature, convert matching versions once, write back.")
def hooks_serve(rules: Path = typer.Option(..., help="hooks.yaml: `rules:`, each with a `model` glob, optional "
                                           "`tags`, and a batch manifest entry's keys."),
                host: str = typer.Option("127.0.0.1", help="Address to listen on."),
                port: int = typer.Option(8787, help="Port to listen on."),
                secret_env: str = typer.Option("MODELFERRY_HOOK_SECRET", help="The environment variable that holds "
                                               "the webhook's secret (as given to MLflow's create_webhook)."),
                dispatch: str = typer.Option("auto", help=DISPATCH_HELP),
                parallel: int = typer.Option(1, min=1, help="Conversions at once when they run here.")):
    secret = os.environ.get(secret_env)
    if not secret:
        console.print(f"[red]error:[/] ${secret_env} is not set: the webhook's secret is needed to verify deliveries")
        raise typer.Exit(2)
    checked = _rules(rules)
    try:
        with _engine():
            from flows.hooks.service import serve

            serve(checked, secret, host, port, dispatch, parallel)
    except KeyboardInterrupt:
        pass   # the conversions running here were ended with it


@hooks_app.command("reconcile", help="Convert the versions that match a rule and have no result yet (MLflow does "
                                     "not redeliver a lost event); waits for the conversions run here.")
def hooks_reconcile(rules: Path = typer.Option(..., help="hooks.yaml, as for `hooks serve`."),
                    dispatch: str = typer.Option("auto", help=DISPATCH_HELP),
                    parallel: int = typer.Option(1, min=1, help="Conversions at once when they run here."),
                    stale_after: float = typer.Option(3600, help="Seconds after which a claimed version with no "
                                                      "result is taken over (its conversion died).")):
    checked = _rules(rules)
    with _engine():
        from flows.hooks.service import reconcile

        found = reconcile(checked, dispatch, parallel, stale_after)
    for uri, outcome in found:
        console.print(f"{escape(uri)}: {escape(outcome)}")
    console.print(f"{len(found)} version(s) without a result" if found else "every matching version has a result")


def main() -> None:  # pragma: no cover
    """The console script: the command, the exit handlers (Prefect's drains, the warm workers' stop), then
    the process ends at once: tearing down the interpreter's modules (Prefect, rich, pydantic) took half a
    second after every command."""
    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    threading._shutdown()   # type: ignore[attr-defined]  # as the interpreter's exit: wait for non-daemon threads
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
