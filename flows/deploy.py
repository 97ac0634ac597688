"""`modelferry deploy`: the work pool and the deployments of infra/prefect.yaml, on the Prefect server.

The file is Prefect's own prefect.yaml format (so `prefect deploy` reads it too); this reads its
`deployments` and registers each with `flow.from_source(<this checkout>, entrypoint).deploy(...)`: a
`process` pool runs flows from a directory, not an image.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import yaml

from flows import STAGES_ROOT

PREFECT_YAML = STAGES_ROOT / "infra" / "prefect.yaml"
TEMPLATE = re.compile(r"\{\{\s*\$(\w+)\s*\}\}")
POOL = "modelferry"


@dataclass
class Registered:
    name: str  # flow/deployment, as `prefect deployment run` takes it
    schedules: list[str]


def _expand(value, env: dict):
    """`{{ $NAME }}` from the environment, as `prefect deploy` does."""
    if isinstance(value, str):
        return TEMPLATE.sub(lambda m: env.get(m.group(1), ""), value)
    if isinstance(value, dict):
        return {k: _expand(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env) for v in value]
    return value


def ensure_pool(name: str = POOL) -> bool:
    """Create the `process` work pool unless it is there; True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            return True


def deploy(manifest: Path | None = None, cron: str | None = None, file: Path = PREFECT_YAML) -> list[Registered]:
    from prefect import Flow
    from prefect.schedules import Cron

    env = {**os.environ, "MODELFERRY_REPO": str(STAGES_ROOT)}
    if manifest is not None:
        env["MODELFERRY_BATCH_MANIFEST"] = str(manifest.resolve())
    spec = _expand(yaml.safe_load(file.read_text()), env)
    registered = []
    for d in spec["deployments"]:
        pool = d["work_pool"]["name"]
        ensure_pool(pool)
        schedules = []
        for s in d.get("schedules") or []:
            parameters = s.get("parameters") or {}
            if "manifest" in parameters and not parameters["manifest"]:
                continue  # a batch schedule needs a manifest: `modelferry deploy --manifest models.yaml`
            schedules.append(
                Cron(
                    cron or s["cron"],
                    timezone=s.get("timezone", "UTC"),
                    active=s.get("active", True),
                    parameters=parameters,
                )
            )
        flow = cast("Flow", Flow.from_source(source=str(STAGES_ROOT), entrypoint=d["entrypoint"]))  # called sync
        with contextlib.redirect_stdout(io.StringIO()):  # Prefect's own table of what it applied
            flow.deploy(
                name=d["name"],
                work_pool_name=pool,
                parameters=d.get("parameters") or {},
                description=d.get("description"),
                schedules=schedules,
                build=False,
                push=False,
                print_next_steps=False,
                ignore_warnings=True,
            )
        registered.append(Registered(f"{flow.name}/{d['name']}", [f"{s.cron} ({s.timezone})" for s in schedules]))
    return registered
