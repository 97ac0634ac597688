"""`modelferry hooks serve`: an HTTP endpoint for MLflow 3 webhooks.

Each delivery is verified (HMAC signature on the raw body, timestamp) before anything else; then the
version it is about is matched against the rules and, when one matches, claimed: the claim is a file
created exclusively under MODELFERRY_HOME/hooks/claims, so any number of deliveries of one event, at
once or later, give one conversion. The conversion runs through the `convert-model/convert` deployment
when a worker of the `modelferry` pool is online, else here, in a pool of --parallel threads; either
way the results are written back to the registry by the conversion itself.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, cast

from flows.hooks.rules import Rule, first_match
from flows.hooks.signature import Rejected, verify
from flows.mlflow_registry import TAG_PREFIX, Version, client
from flows.settings import home

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

DEPLOYMENT = "convert-model/convert"
POOL = "modelferry"
MAX_BODY = 1 << 20


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


class Claims:
    """One claim per model version: whoever creates its file converts it."""

    def __init__(self, root: Path | None = None):
        self.root = root or home() / "hooks" / "claims"

    def _path(self, version: Version) -> Path:
        return self.root / hashlib.sha256(version.name.encode()).hexdigest()[:16] / f"{version.version}.json"

    def take(self, version: Version, why: str, stale_after_s: float | None = None) -> bool:
        path = self._path(version)
        path.parent.mkdir(parents=True, exist_ok=True)
        if stale_after_s is not None and path.is_file() and time.time() - path.stat().st_mtime > stale_after_s:
            path.unlink(missing_ok=True)  # claimed long ago and never finished (reconcile takes it over)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as file:
            json.dump({"name": version.name, "version": version.version, "why": why, "at": time.time()}, file)
        return True


def _tags(raw) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(t["key"]): str(t["value"]) for t in raw or [] if isinstance(t, dict) and "key" in t}


@dataclass
class Dispatcher:
    rules: list[Rule]
    mode: str = "auto"  # auto | deployment | local
    parallel: int = 1

    def __post_init__(self):
        self.claims = Claims()
        self.local = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="convert")
        self.lock = threading.Lock()
        self.running: list = []

    def consider(self, version: Version, tags: dict[str, str], why: str, stale_after_s: float | None = None) -> str:
        """What becomes of a version: no rule, already claimed, or a conversion triggered (and how)."""
        rule = first_match(self.rules, version.name, tags)
        if rule is None:
            return "ignored: no rule matches"
        if not self.claims.take(version, why, stale_after_s):
            return "duplicate: this version is converted (or being converted) already"
        return self.trigger(rule, version)

    def trigger(self, rule: Rule, version: Version) -> str:
        parameters = {"source": version.uri, "options": rule.options}
        if self.mode == "deployment" or (self.mode == "auto" and worker_online()):
            from prefect.deployments import run_deployment

            run = cast("FlowRun", run_deployment(DEPLOYMENT, parameters=parameters, timeout=0))  # called sync
            return f"accepted: flow run {run.id} of {DEPLOYMENT} (rule #{rule.index + 1})"
        with self.lock:
            self.running.append(self.local.submit(self._convert_here, parameters))
        return f"accepted: converting here (rule #{rule.index + 1})"

    @staticmethod
    def _convert_here(parameters: dict) -> None:
        from flows.deployment_flows import convert_model

        try:
            outcome = convert_model(**parameters)
            log(f"{parameters['source']}: {outcome['status']}, published to {outcome['location']}")
        except Exception as exc:  # the registry has been told (modelferry.status failed); say it here too
            log(f"{parameters['source']}: failed: {exc}")

    def wait(self) -> None:
        self.local.shutdown(wait=True)


def worker_online(pool: str = POOL) -> bool:
    """Whether a worker of the pool is online and the convert deployment is there to send it work."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    try:
        with get_client(sync_client=True) as prefect:
            prefect.read_deployment_by_name(DEPLOYMENT)
            return any(str(w.status).upper().endswith("ONLINE") for w in prefect.read_workers_for_work_pool(pool))
    except ObjectNotFound:
        return False


def handle(event: dict, dispatcher: Dispatcher) -> str:
    """One verified delivery: which version it is about, and what becomes of it."""
    entity, action, data = event.get("entity"), event.get("action"), event.get("data") or {}
    kind = f"{entity}.{action}"
    if kind == "model_version.created":
        version = Version(str(data["name"]), str(data["version"]))
        return dispatcher.consider(version, _tags(data.get("tags")), kind)
    if kind in ("model_version_tag.set", "model_version_alias.created"):
        if str(data.get("key", "")).startswith(TAG_PREFIX):
            return "ignored: a tag modelferry wrote itself"
        version = Version(str(data["name"]), str(data["version"]))
        current = client().get_model_version(version.name, version.version)  # the registry's tags, now
        return dispatcher.consider(version, dict(current.tags), kind)
    return f"ignored: {kind} is not an event modelferry acts on"


def make_handler(secret: str, dispatcher: Dispatcher):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413, "the body is too large")
            body = self.rfile.read(length)
            try:
                delivery = verify(secret, self.headers, body)
            except Rejected as exc:
                log(f"rejected ({exc.status}): {exc.reason}")
                return self._answer(exc.status, exc.reason)
            try:
                outcome = handle(json.loads(body), dispatcher)
            except (ValueError, KeyError, TypeError) as exc:
                log(f"delivery {delivery}: not an MLflow event: {exc}")
                return self._answer(400, f"not an MLflow webhook event: {exc}")
            except Exception as exc:  # the registry or Prefect did not answer: MLflow retries 5xx
                log(f"delivery {delivery}: {exc}")
                return self._answer(503, f"could not act on it now: {exc}")
            log(f"delivery {delivery}: {outcome}")
            self._answer(202 if outcome.startswith("accepted") else 200, outcome)

        def _answer(self, status: int, text: str):
            body = json.dumps({"outcome": text}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # one line per delivery is written by do_POST
            pass

    return Handler


class HookServer(ThreadingHTTPServer):
    request_queue_size = 256  # a burst of deliveries (MLflow's pool, retries) is queued, not reset
    daemon_threads = True


def serve(rules: list[Rule], secret: str, host: str, port: int, mode: str, parallel: int) -> None:
    dispatcher = Dispatcher(rules, mode, parallel)
    server = HookServer((host, port), make_handler(secret, dispatcher))
    log(
        f"listening on http://{host}:{server.server_address[1]}/ for MLflow webhooks ({len(rules)} rule(s), "
        f"conversions: {mode})"
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
        dispatcher.wait()


def like(glob: str) -> str:
    """A name glob as an MLflow search LIKE pattern."""
    return glob.replace("'", "''").replace("%", "\\%").replace("_", "\\_").replace("*", "%").replace("?", "_")


def reconcile(rules: list[Rule], mode: str, parallel: int, stale_after_s: float) -> list[tuple[str, str]]:
    """Versions that match a rule and carry no modelferry.status (their event was lost, or their
    conversion died): each is considered as if its event came now. Waits for local conversions."""
    dispatcher, registry, seen, done = Dispatcher(rules, mode, parallel), client(), set(), []
    for rule in rules:
        token = None
        while True:
            page = registry.search_model_versions(f"name LIKE '{like(rule.model)}'", page_token=token)
            for found in page:
                version = Version(found.name, str(found.version))
                if (
                    version in seen
                    or f"{TAG_PREFIX}status" in found.tags
                    or not fnmatch.fnmatchcase(found.name, rule.model)
                ):
                    continue
                seen.add(version)
                done.append((version.uri, dispatcher.consider(version, dict(found.tags), "reconcile", stale_after_s)))
            token = page.token
            if not token:
                break
    dispatcher.wait()
    return done
