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

from flows.convert_options import CONVERT_OPTIONS, FRAMEWORK_CLI, PANELS, defaults, framework_default
from flows.source import known_sources
from stages import catalog


def new_console() -> Console:
    """The console on this process's stderr: one line per message, for logs; a log's tables are not
    squeezed into 80 columns. (The resident engine makes it again once its command has the caller's.)"""
    return Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200)


console = new_console()


def _formats() -> str:
    return (
        f"Sources: {', '.join(catalog.SOURCES)}.  Targets (--to): {', '.join(catalog.TARGETS)}.  "
        f"Quantization (--quantize): {', '.join(catalog.QUANTIZE_MODES)}.  `modelferry support-matrix` lists "
        f"the routes from each source to each target and every stage implementation."
    )


app = typer.Typer(
    help=f"Convert trained models between frameworks, validated against the source.\n\n{_formats()}",
    no_args_is_help=True,
    add_completion=False,
)
images_app = typer.Typer(help="Runtime images: one pinned lock file per framework.", no_args_is_help=True)
runtime_app = typer.Typer(help="Run things inside a stage runtime.", no_args_is_help=True)
server_app = typer.Typer(
    help="modelferry's Prefect server on 127.0.0.1: started once, used by every "
    "conversion after it (PREFECT_API_URL, when set, wins).",
    no_args_is_help=True,
)
app.add_typer(images_app, name="images")
app.add_typer(server_app, name="server")
hooks_app = typer.Typer(
    help="MLflow model-registry hooks: a new version (or tag, or alias) that matches a rule "
    "is converted and the results written back to the registry (MLFLOW_TRACKING_URI).",
    no_args_is_help=True,
)
app.add_typer(hooks_app, name="hooks")
app.add_typer(runtime_app, name="runtime")


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
    from flows import prefect_env

    prefect_env.apply(verbose)  # quiet, local Prefect unless the user configured otherwise
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


def _option(
    name: str, annotation: object, default: object, flags, help: str, panel: str, envvar: str | None = None
) -> inspect.Parameter:
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=annotation,
        default=typer.Option(default, *flags, help=help, envvar=envvar, rich_help_panel=panel),
    )


def _framework_option(declared: catalog.Declared) -> inspect.Parameter:
    option = declared.option
    names = [f"{option.cli_flag}/--no-{option.cli_flag[2:]}"] if option.kind == "flag" else [option.cli_flag]
    return _option(
        option.name,
        FRAMEWORK_CLI[option.kind][0],
        framework_default(option),
        names,
        option.help,
        f"Options of {declared.framework} (stages/{declared.framework})",
    )


def _with_convert_options(own: bool = True):
    """The command with convert's own options (flows/convert_options.py) when `own`, and each framework's
    (`OPTIONS` in stages/<fw>/registry.py), as flags: its `**options` becomes one keyword parameter per
    option, which typer reads from the signature."""

    def make(command):
        signature = inspect.signature(command)
        fixed = [p for p in signature.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
        rows = (
            [
                _option(f.name, f.annotation, f.default, f.cli_flags, f.help, f.panel, f.envvar)
                for panel in PANELS
                for f in CONVERT_OPTIONS
                if f.panel == panel
            ]
            if own
            else []
        )
        command.__signature__ = signature.replace(
            parameters=fixed + rows + [_framework_option(d) for d in catalog.OPTIONS]
        )
        return command

    return make


@app.command(help=f"Convert a model and publish validated artifacts with a report.\n\n{_formats()}")
@_with_convert_options()
def convert(
    source: str = typer.Argument(
        ...,
        help=f"The model: {known_sources()}; or s3://bucket/key (its companion "
        "files come with it), or models:/name/version (MLflow).",
    ),
    **options,  # convert's own options and each framework's: see _with_convert_options
):
    from flows.options import error_messages, request_from_options
    from flows.remote import fetch, is_remote

    try:
        request = request_from_options({"source": source, **options})
    except ValueError as exc:
        for message in error_messages(exc):
            console.print(f"[red]error:[/] {escape(message)}")
        raise typer.Exit(2)

    from flows.errors import ConversionError

    if is_remote(source):  # fetched once (kept by ETag), then converted like a local file
        try:
            fetched = fetch(source, request.s3_endpoint_url)
        except ConversionError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}")
            console.print("[red]nothing was published[/]")
            raise typer.Exit(1)
        request = request.model_copy(
            update={"source": fetched.path, "origin": fetched.origin, "name": request.name or fetched.name}
        )
    verbose = options["verbose"]
    if options["show_plan"]:
        _print_plan(request)
        return

    from flows.early import begin_first_stage

    started = time.monotonic()
    try:
        _report_and_interrupt()
        begin_first_stage(request)  # before Prefect is imported: the stage goes on beside that import
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
        console.print(
            "[red]nothing was published[/]"
            + (f"; the run's report: {escape(exc.report_location)}/report.json" if exc.report_location else "")
        )
        raise typer.Exit(1)
    _print_summary(result.report, result.location, time.monotonic() - started)
    if result.report["status"] != "passed":
        raise typer.Exit(1)


@app.command(
    help="Convert every model of a YAML manifest (keys: convert's long options with underscores), "
    "up to --parallel at once; publish each, and a batch report under OUT/_batches/."
)
def batch(
    manifest: Path = typer.Argument(
        ...,
        help="models.yaml: `out`, `defaults` and `models` (each with a "
        "`source`: a path relative to the manifest, or s3://bucket/key).",
    ),
    parallel: int = typer.Option(
        1, "--parallel", "-p", min=1, help="Conversions at once (their stages share one CPU budget)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs."),
):
    from flows.batch import ManifestError, load

    try:
        load(manifest)  # every entry checked before any work
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

    table = Table(
        title=f"batch {report['batch_id']}: {report['status']} ({report['counts']['passed']} passed, "
        f"{report['counts']['failed']} failed, {report['counts']['error']} errors) in "
        f"{report['seconds']:.1f}s at --parallel {report['parallel']}"
    )
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        style = "green" if row["status"] == "passed" else "red"
        table.add_row(*[f"[{style}]{escape(str(v))}[/]" if k == "status" else escape(str(v)) for k, v in row.items()])
    console.print(table)
    console.print(f"batch report: {report['location']}/report.html")


@app.command(
    help="Register the convert and batch deployments of infra/prefect.yaml (and the `modelferry` process "
    "work pool) on the Prefect server; then run `prefect worker start --pool modelferry` on each "
    "machine that converts."
)
def deploy(
    manifest: Optional[Path] = typer.Option(
        None,
        help="The manifest the batch deployment's schedule converts "
        "(without it, the batch deployment has no schedule).",
    ),
    cron: Optional[str] = typer.Option(
        None, help="The batch schedule, in cron syntax (default: infra/prefect.yaml's, nightly at 03:00 UTC)."
    ),
):
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

    reaper.stop_all()  # stages run in the branches' threads: end them, and start no other
    raise KeyboardInterrupt


def _top1(parity: dict) -> str:
    """Top-1 agreement: the task's (--task classify, with accuracy when labelled), else the classifier-like one."""
    measured: dict = next(iter(((parity.get("task") or {}).get("outputs") or {}).values()), {})
    if "top1_agreement" in measured:
        accuracy = (
            f", accuracy {measured['artifact_accuracy']:.3f} (source {measured['source_accuracy']:.3f})"
            if "artifact_accuracy" in measured
            else ""
        )
        return f"{measured['top1_agreement']:.3f} (top-5 {measured['top5_agreement']:.3f}){accuracy}"
    return f"{parity['top1_agreement']:.3f}" if "top1_agreement" in parity else "–"


def _error(value: float) -> str:
    return "–" if value >= 1e300 else f"{value:.3g}"  # 1e300: not measurable (shapes differ, not finite)


def _print_summary(report: dict, location: str, seconds: float) -> None:
    from rich.table import Table

    samples = report.get("samples") or {}
    if samples.get("synthetic"):
        console.print(
            f"[yellow]note:[/] the samples were made up ({escape(samples['samples'])}); for gates that "
            f"mean something, give real inputs (--samples FILE.npz or a folder of pictures) or say what "
            f"the inputs are (--input-range, --mean/--std)"
        )

    table = Table(title=f"{report['model']}: {report['status']} in {seconds:.1f}s")
    from flows.units import latency_text, size_text

    for column in (
        "target",
        "precision",
        "max abs err",
        "noise floor",
        "cosine",
        "top-1",
        "parity",
        "size",
        "latency",
        "file",
    ):
        table.add_column(column)
    for a in report["artifacts"]:
        p = a.get("parity")
        if p is None:
            table.add_row(
                a["target"], a["precision"], "–", "–", "–", "–", "[red]not made[/]", "–", "–", "not published"
            )
            continue
        table.add_row(
            a["target"],
            a["precision"],
            _error(p["max_abs_err"]),
            f"{p['noise_floor']:.2g}" if "noise_floor" in p else "–",
            f"{p['cosine']:.6f}",
            _top1(p),
            "[green]passed[/]" if p["passed"] else f"[red]FAILED[/] ({escape(p['worst_output'])}: {escape(p['gate'])})",
            size_text(a.get("bytes")),
            latency_text(a.get("latency")),
            a["path"] or "not published",
        )
    console.print(table)
    for a in report["artifacts"]:
        if a["published"] and a["attempts"] and a["attempts"][0]["outcome"] != "passed":
            console.print(f"[yellow]↪ {a['target']}/{a['precision']}[/] made by a fallback route: {escape(a['route'])}")
        elif not a["published"]:
            console.print(f"[red]✗ {a['target']}/{a['precision']}[/] {escape(a['reason'])}; not published")
    console.print(f"published to {location}/ (report.json, report.html)")


@images_app.command("lock", help="Regenerate images/<name>/requirements.lock from requirements.in (uv, hashes).")
def images_lock(names: List[str] = typer.Argument(None, help="Images to lock; default all.")):
    from flows.images import lock

    for name in names or catalog.images():
        console.print(f"locking {name} …")
        lock(name)


@images_app.command(
    "build",
    help="Build the runtime images (images/<name>/Dockerfile, else images/Dockerfile) from "
    "their lock files (no registry needed).",
)
def images_build(
    names: List[str] = typer.Argument(None, help="Images to build; default all."),
    base: Optional[str] = typer.Option(
        None, help="Base image (default python:3.11-slim-bookworm, else modelferry/base:bookworm-py311)."
    ),
):
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


@runtime_app.command(
    "exec",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    help="Run a command in a runtime's environment: modelferry runtime exec mxnet -- python x.py "
    "(docker: hardened like a stage, the working directory mounted read-only, the "
    "--writable folders read-write)",
)
def runtime_exec(
    ctx: typer.Context,
    image: str = typer.Argument(...),
    runtime: str = typer.Option("venv", help="venv | docker."),
    writable: List[Path] = typer.Option(
        [], help="A folder the command writes (docker: mounted read-write; made if missing). Repeatable."
    ),
):
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
    console.print(
        f"stopped the Prefect server on port {state.port} (pid {state.pid})"
        if state
        else "no modelferry Prefect server was running"
    )


@server_app.command("status", help="Whether the Prefect server runs and answers; exit code 1 when not.")
def server_status():
    from flows import server

    state = server.status()
    if state is None:
        console.print("no modelferry Prefect server is running (`modelferry server start`)")
        raise typer.Exit(1)
    healthy = server.answers(state.url)
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state.started_at))
    console.print(
        f"Prefect server {'running' if healthy else 'NOT ANSWERING'}: {state.ui} (API {state.url}, "
        f"pid {state.pid}, since {since}; log {server.log_file()})"
    )
    if not healthy:
        raise typer.Exit(1)


@app.command(
    "inspect",
    help="What a model is and which targets will take it, before converting: its inputs and "
    "outputs, ops, each target's routes with the ops modelferry's own emitters lack, and the options a "
    "conversion will need. The model is read by the stages a conversion runs (sandboxed, cached); "
    "nothing is run but its load, nothing is published.",
)
@_with_convert_options(own=False)
def inspect_model(
    source: str = typer.Argument(..., help="The model, as `convert` takes it."),
    as_json: bool = typer.Option(False, "--json", help="Print it as JSON."),
    input_shape: List[str] = typer.Option(
        [],
        help="name:1,3,112,112, as `convert` takes it (a source that is not "
        "ONNX is loaded, and its load needs every shape).",
    ),
    bind: List[str] = typer.Option([], help="name=value, as `convert` takes it."),
    runtime: str = typer.Option("auto", help="auto | docker | venv."),
    **framework,
):
    from flows.errors import ConversionError
    from flows.inspect import as_text
    from flows.inspect import inspect_model as inspection
    from flows.options import error_messages, request_from_options

    given = {**framework, "source": source, "input_shape": input_shape, "bind": bind, "runtime": runtime}
    try:
        request = request_from_options({**defaults(), **given})
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


@app.command(
    "support-matrix",
    help="Print which route the planner takes from each source to each target, the "
    "quantization modes and the stage implementations (from the registry).",
)
def support_matrix(
    write: bool = typer.Option(False, "--write", help="Also put it in docs/formats.md, between its markers."),
):
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


DISPATCH_HELP = (
    "auto: through the convert-model/convert deployment when a worker of the modelferry pool is "
    "online, else here; deployment; local."
)


@hooks_app.command(
    "serve",
    help="Serve MLflow 3 webhooks (model_version.created, tag and alias events): verify "
    "each delivery's signature, convert matching versions once, write back.",
)
def hooks_serve(
    rules: Path = typer.Option(
        ..., help="hooks.yaml: `rules:`, each with a `model` glob, optional `tags`, and a batch manifest entry's keys."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8787, help="Port to listen on."),
    secret_env: str = typer.Option(
        "MODELFERRY_HOOK_SECRET",
        help="The environment variable that holds the webhook's secret (as given to MLflow's create_webhook).",
    ),
    dispatch: str = typer.Option("auto", help=DISPATCH_HELP),
    parallel: int = typer.Option(1, min=1, help="Conversions at once when they run here."),
):
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
        pass  # the conversions running here were ended with it


@hooks_app.command(
    "reconcile",
    help="Convert the versions that match a rule and have no result yet (MLflow does "
    "not redeliver a lost event); waits for the conversions run here.",
)
def hooks_reconcile(
    rules: Path = typer.Option(..., help="hooks.yaml, as for `hooks serve`."),
    dispatch: str = typer.Option("auto", help=DISPATCH_HELP),
    parallel: int = typer.Option(1, min=1, help="Conversions at once when they run here."),
    stale_after: float = typer.Option(
        3600, help="Seconds after which a claimed version with no result is taken over (its conversion died)."
    ),
):
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
    threading._shutdown()  # type: ignore[attr-defined]  # as the interpreter's exit: wait for non-daemon threads
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
