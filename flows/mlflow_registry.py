"""An MLflow model registry as a source (`models:/name/version`, `models:/name@alias`) and as the place
results are written back to: the converted artifacts on the version's run, tags on the version.

The registry is MLFLOW_TRACKING_URI's (MLflow's own setting). A version's files are immutable, so a
download is kept per name and version. Tags written back all start with `modelferry.`: the hooks
ignore events about them, so writing them back triggers nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from flows.errors import ConversionError
from flows.settings import home
from stages import catalog

SCHEME = "models:/"
TAG_PREFIX = "modelferry."
URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))$")
TAG_LIMIT = 4000  # MLflow keeps model version tag values up to 5000 characters


@dataclass(frozen=True)
class Version:
    name: str
    version: str

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.name}/{self.version}"


def client():
    from mlflow import MlflowClient

    return MlflowClient()


def parse(uri: str) -> Version:
    """models:/name/3, or models:/name@alias resolved to its version now."""
    match = URI.match(uri)
    if not match:
        raise ConversionError(
            "load", "a registry source is models:/<name>/<version> or models:/<name>@<alias>", file=uri
        )
    if match["version"]:
        return Version(match["name"], match["version"])
    try:
        found = client().get_model_version_by_alias(match["name"], match["alias"])
    except Exception as exc:
        raise ConversionError("load", f"the registry has no such alias: {exc}", file=uri) from None
    return Version(match["name"], str(found.version))


def find_model(root: Path, uri: str) -> Path:
    """The one model among a version's files: the file (or folder) a source format declares as the one that
    names its model (stages/sources.py); files inside a model's folder are that model's."""
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        if any(path.is_relative_to(model) for model in found if model.is_dir()):
            continue
        if any(kind.is_entry(path) for kind in catalog.SOURCE_KINDS):
            found.append(path)
    if len(found) != 1:
        what = "no model file" if not found else f"several model files ({', '.join(p.name for p in found)})"
        raise ConversionError(
            "load", f"the version's files hold {what}; modelferry converts one model per version", file=uri
        )
    return found[0]


def fetch(uri: str):
    """The version's files, downloaded once; a Fetched whose name is the registered name."""
    from flows.fetched import Fetched
    from flows.source import UNSAFE

    version = parse(uri)
    folder = home() / "downloads" / ("mlflow-" + hashlib.sha256(version.uri.encode()).hexdigest()[:24])
    if not (folder / ".complete").is_file():
        scratch = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
        (scratch / "files").mkdir(parents=True)
        try:
            import mlflow.artifacts

            mlflow.artifacts.download_artifacts(artifact_uri=version.uri, dst_path=str(scratch / "files"))
        except Exception as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise ConversionError("load", f"downloading the version's files failed: {exc}", file=uri) from None
        (scratch / ".complete").touch()
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(scratch, folder)
    return Fetched(
        find_model(folder / "files", version.uri),
        f"{SCHEME}{version.name}",
        UNSAFE.sub("-", version.name).strip("-.") or "model",
        version.uri,
    )


def _verdict(artifact: dict) -> str:
    p = artifact.get("parity") or {}
    if artifact["published"]:
        return f"passed: max abs err {p['max_abs_err']:.3g}, cosine {p['cosine']:.6f}"
    return f"failed: {artifact.get('reason', 'not made')}"[:TAG_LIMIT]


def write_back(
    uri: str, report: dict | None, location: str | None, files: dict[str, Path], error: str | None = None
) -> None:
    """The converted files under modelferry/<target>/ on the version's run, and the version's tags:
    modelferry.status, modelferry.report, one modelferry.<target>.<precision> per artifact."""
    version = parse(uri)
    registry = client()
    tags = {f"{TAG_PREFIX}status": "failed" if report is None or report["status"] != "passed" else "passed"}
    if report is None:
        tags[f"{TAG_PREFIX}error"] = (error or "")[:TAG_LIMIT]
    else:
        tags[f"{TAG_PREFIX}report"] = f"{location}/report.html"
        run_id = registry.get_model_version(version.name, version.version).run_id
        for artifact in report["artifacts"]:
            tags[f"{TAG_PREFIX}{artifact['target']}.{artifact['precision']}"] = _verdict(artifact)
            local = files.get(artifact["path"]) if artifact["published"] else None
            if local is None or not run_id:
                continue
            where = f"modelferry/{artifact['target']}"
            if local.is_dir():
                registry.log_artifacts(run_id, str(local), f"{where}/{artifact['path']}")
            else:
                named = Path(os.environ.get("TMPDIR", "/tmp")) / f"modelferry-{uuid.uuid4().hex[:8]}" / artifact["path"]
                named.parent.mkdir(parents=True)
                shutil.copyfile(local, named)  # logged under the name it has in the store, not the bundle's
                try:
                    registry.log_artifact(run_id, str(named), where)
                finally:
                    shutil.rmtree(named.parent, ignore_errors=True)
    status = tags.pop(f"{TAG_PREFIX}status")
    for key, value in [*tags.items(), (f"{TAG_PREFIX}status", status)]:  # the status last: it says "done"
        registry.set_model_version_tag(version.name, version.version, key, value)
