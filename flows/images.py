"""Runtime images: lock files, wheels fetched on the host, and registry-free docker builds.

`modelferry images lock` regenerates images/<name>/requirements.lock;
`modelferry images build` builds images/<name>/Dockerfile (else the shared
images/Dockerfile, for runtimes that are a Python venv and nothing more) with the lock's
wheels downloaded by the host's own pip (its index, proxy and CA settings),
so the build itself needs no network. An image is tagged by the hash of
what goes into it, so rebuilding an unchanged image is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flows import IMAGES_ROOT, STAGES_ROOT
from flows.code import image_files
from flows.code import sha256 as code_sha256
from flows.pins.locks import DEFAULT_PYTHON, PYTHON_SUITES, debian, lock_path, lock_sha256, python_version
from flows.pins.npm import NpmError, node_binary, npm_ci, package_lock_sha256
from flows.pins.uv import uv_binary, uv_env
from flows.settings import home
from stages import catalog
from stages.bundle import sha256_file

LOCK_COMMAND = "modelferry images lock"
DEFAULT_BASES = ("python:3.11-slim-bookworm", "modelferry/base:bookworm-py311")
COMPLETE = ".complete"
PRUNE_AFTER = timedelta(hours=1)  # an older image of a runtime is removed once it is this old
WARM_WORKER = "stages.warm.worker"  # the main process of a runtime's warm container


class ImageError(Exception):
    pass


def lock(name: str) -> None:
    folder = IMAGES_ROOT / name
    if debian(name) is not None:
        return  # pinned by its Debian release (images/<name>/debian.txt), not by a lock
    argv = [
        uv_binary(),
        "pip",
        "compile",
        "-q",
        "--python-version",
        python_version(name),
        "--generate-hashes",
        "--custom-compile-command",
        LOCK_COMMAND,
        str(folder / "requirements.in"),
        "-o",
        str(folder / "requirements.lock"),
    ]
    if (folder / "overrides.txt").is_file():
        argv += ["--override", str(folder / "overrides.txt")]
    subprocess.run(argv, check=True, cwd=folder, env=uv_env())


def wheels(name: str) -> Path:
    """The lock's wheels, downloaded once per lock by the host's pip (hash-checked)."""
    folder = home() / "wheels" / f"{name}-{lock_sha256(name)[:16]}"
    if (folder / COMPLETE).exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # The lock was resolved for Python 3.11; some wheels declare a narrower
    # Requires-Python than they need (backports-strenum), hence the flag.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "--require-hashes",
            "--only-binary=:all:",
            "--ignore-requires-python",
            *_wheel_tags(name),
            "-r",
            str(lock_path(name)),
            "-d",
            str(folder),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or done.stderr.splitlines()
        raise ImageError(f"downloading the wheels of {lock_path(name)} failed: {' '.join(errors[-3:])}")
    (folder / COMPLETE).touch()
    return folder


def _wheel_tags(name: str) -> list[str]:
    """pip download's target for a runtime on a Python other than the host's 3.11: that CPython on x86-64
    Linux (manylinux of any glibc a Debian release of it has)."""
    version = python_version(name)
    if version == DEFAULT_PYTHON:
        return []
    platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(17, 42)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    cp = "cp" + version.replace(".", "")
    return [
        "--python-version",
        version,
        "--implementation",
        "cp",
        "--abi",
        cp,
        "--abi",
        "abi3",
        "--abi",
        "none",
        *(arg for platform in platforms for arg in ("--platform", platform)),
    ]


def debs(name: str) -> list[Path]:
    """Debian packages listed in images/<name>/apt.txt, downloaded by the host's apt."""
    listing = IMAGES_ROOT / name / "apt.txt"
    packages = [line.split("#")[0].strip() for line in listing.read_text().splitlines()] if listing.is_file() else []
    packages = [p for p in packages if p]
    if not packages:
        return []
    digest = hashlib.sha256(" ".join(packages).encode()).hexdigest()[:16]
    folder = home() / "debs" / f"{name}-{digest}"
    if not (folder / COMPLETE).exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        done = subprocess.run(["apt-get", "download", *packages], cwd=folder, capture_output=True, text=True)
        if done.returncode != 0:
            raise ImageError(
                f"apt-get download {' '.join(packages)} (from {listing}) failed: "
                f"{done.stderr.strip().splitlines()[-1:]}; run apt-get update first"
            )
        (folder / COMPLETE).touch()
    return sorted(folder.glob("*.deb"))


def node_modules(name: str) -> Path | None:
    """The image's locked Node packages, installed once per package-lock.json by the host's npm."""
    digest = package_lock_sha256(name)
    if digest is None:
        return None
    folder = home() / "node_modules" / f"{name}-{digest[:16]}"
    if not (folder / COMPLETE).exists():
        shutil.rmtree(folder, ignore_errors=True)
        try:
            npm_ci(name, folder)
        except NpmError as exc:
            raise ImageError(str(exc)) from None
        (folder / COMPLETE).touch()
    return folder / "node_modules"


def docker_client():
    import docker

    return docker.from_env(timeout=600)


def base_image(client, explicit: str | None = None) -> str:
    """The base image to build on: the one asked for, else the first default present locally."""
    wanted = explicit or os.environ.get("MODELFERRY_BASE_IMAGE")
    candidates = (wanted,) if wanted else DEFAULT_BASES
    for candidate in candidates:
        try:
            client.images.get(candidate)
            return candidate
        except Exception:  # docker.errors.ImageNotFound, or an API error: try the next
            continue
    raise ImageError(
        f"no base image {' or '.join(candidates)} on this Docker engine: pull one, or make "
        f"one from Debian's packages with infra/base-image.sh"
    )


BASE_SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "base-image.sh"


def debian_base(name: str) -> str:
    """The base tag of a runtime made of one Debian release's packages: named by what it holds."""
    return f"modelferry/base:{name}-{lock_sha256(name)[:12]}"


def make_debian_base(client, name: str, log=print) -> str:
    """debootstrap the release with the runtime's packages and import it (infra/base-image.sh), once."""
    made_of = debian(name)
    assert made_of is not None, f"{name} is not made of Debian's packages"  # the caller asked debian() first
    suite, packages = made_of
    return _debootstrapped(client, debian_base(name), suite, packages, name, log)


def _debootstrapped(client, tag: str, suite: str, packages: list[str], name: str, log) -> str:
    """`tag`, made once from Debian `suite` with `packages` (none: the script's python3 and venv) by
    infra/base-image.sh where the engine has no such image."""
    try:
        client.images.get(tag)
        return tag
    except Exception:  # docker.errors.ImageNotFound
        pass
    what = ", ".join(packages) or "its python3"
    log(f"making {tag}: Debian {suite} with {what} (debootstrap, a few minutes, once) …")
    done = subprocess.run(
        ["bash", str(BASE_SCRIPT), tag, suite, *([",".join(packages)] if packages else [])],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ImageError(
            f"making the base of {name} ({suite}: {what}) failed: "
            f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}"
        )
    return tag


def python_base_tag(name: str) -> str | None:
    """The base image tag of a runtime on a Python other than the default, else None."""
    version = python_version(name)
    if version == DEFAULT_PYTHON:
        return None
    suite = PYTHON_SUITES.get(version)
    if suite is None:
        raise ImageError(
            f"no Debian release has Python {version} (images/{name}/python.txt) as its python3: "
            f"choose one of {', '.join(PYTHON_SUITES)}"
        )
    return f"modelferry/base:{suite}-py{version.replace('.', '')}"


def python_base(client, name: str, log=print) -> str | None:
    """The base of a runtime on a Python other than the default (images/<name>/python.txt): the Debian
    release whose python3 it is, debootstrapped once (infra/base-image.sh); None for the default."""
    tag = python_base_tag(name)
    return None if tag is None else _debootstrapped(client, tag, PYTHON_SUITES[python_version(name)], [], name, log)


def dockerfile(name: str) -> Path:
    """The runtime's own Dockerfile, else the shared one (a venv from the lock, the stage code)."""
    own = IMAGES_ROOT / name / "Dockerfile"
    return own if own.is_file() else IMAGES_ROOT / "Dockerfile"


def tag_for(client, name: str, base: str) -> str:
    if debian(name) is not None:
        base = debian_base(name)
    base = python_base_tag(name) or base
    digest = hashlib.sha256()
    digest.update(dockerfile(name).read_bytes())
    apt = IMAGES_ROOT / name / "apt.txt"
    digest.update(apt.read_bytes() if apt.is_file() else b"")
    digest.update(lock_sha256(name).encode())
    digest.update(code_sha256(image_code(name)).encode())
    digest.update(client.images.get(base).id.encode())
    node_packages = package_lock_sha256(name)
    if node_packages:  # Node packages and the node binary copied in (images without them keep their tags)
        digest.update(node_packages.encode())
        digest.update(sha256_file(standalone_node()).encode())
    return f"modelferry/{name}:{digest.hexdigest()[:16]}"


def standalone_node() -> Path:
    """The host's node binary, if it can be copied into an image on its own (links only glibc/libstdc++)."""
    try:
        node = node_binary()
    except NpmError as exc:
        raise ImageError(str(exc)) from None
    linked = subprocess.run(["ldd", str(node)], capture_output=True, text=True).stdout
    if "libnode" in linked:
        raise ImageError(
            f"{node} is a distribution build linked to libnode (and its JS builtins under "
            f"/usr/share/nodejs), which cannot be copied into an image: install Node 20 from nodejs.org "
            f"or NodeSource"
        )
    return node


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _context(name: str, folder: Path) -> None:
    shutil.copyfile(dockerfile(name), folder / "Dockerfile")
    modules = node_modules(name)
    if modules is not None:  # the host's node and the locked packages: the build has no network
        shutil.copytree(modules, folder / "node_modules", copy_function=_link_or_copy, symlinks=True)
        shutil.copy2(standalone_node(), folder / "node")
    made_of_debian = debian(name) is not None  # its packages are in its base: no lock, wheels or debs
    if not made_of_debian:
        shutil.copyfile(lock_path(name), folder / "requirements.lock")
    for sub, files in (("wheels", [] if made_of_debian else wheels(name).glob("*.whl")), ("debs", debs(name))):
        (folder / sub).mkdir()
        for path in files:
            try:
                os.link(path, folder / sub / path.name)
            except OSError:
                shutil.copyfile(path, folder / sub / path.name)
    for path in image_code(name):  # the code of this image's stages only: what its tag hashes
        target = folder / path.relative_to(STAGES_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def image_code(name: str) -> frozenset[Path]:
    """The files of every stage that runs in image `name`, of what they import, and the registries that
    declare them (the stage entry point finds its row there); the warm worker's, where the image has one."""
    impls = [impl for impl in catalog.IMPLS if impl.image == name]
    modules = [m for impl in impls for m in (*impl.modules, catalog.home(impl))]
    if (IMAGES_ROOT / name / "warm.txt").is_file():  # its warm worker (flows/runtimes/docker_warm.py)
        modules.append(WARM_WORKER)
    return image_files(tuple(dict.fromkeys(modules)))


def build(
    name: str, base: str | None = None, client=None, log=print, *, nocache: bool = False, tag: str | None = None
) -> tuple[str, bool]:
    """Build images/<name>; returns (tag, built) — built is False when it was already there.

    `nocache` and `tag` are for benchmarks: a cold build under a throwaway tag.
    """
    client = client or docker_client()
    base = (
        make_debian_base(client, name, log)
        if debian(name) is not None
        else python_base(client, name, log) or base_image(client, base)
    )
    if tag is None:
        tag = tag_for(client, name, base)
        try:
            client.images.get(tag)
            return tag, False
        except Exception:
            pass
    with tempfile.TemporaryDirectory(prefix=f"modelferry-image-{name}-") as tmp:
        _context(name, Path(tmp))
        log(f"building {tag} on {base} …")
        # No network during the build: everything it installs is in the context.
        for chunk in client.api.build(
            path=tmp,
            tag=tag,
            buildargs={"BASE_IMAGE": base},
            rm=True,
            forcerm=True,
            network_mode="none",
            decode=True,
            nocache=nocache,
            labels={"modelferry.image": name},
        ):
            if "error" in chunk:
                raise ImageError(f"building {name} failed: {chunk['error'].strip()}")
    if not nocache:
        prune(client, name, keep=tag, log=log)
    return tag, True


def prune(client, name: str, keep: str, log=print) -> None:
    """Remove the runtime's older images (each tag is a content hash: a new run never uses them again).
    An image a container still uses stays; so do images not made by modelferry, and images made in the
    last PRUNE_AFTER: a run planned before the newer build (a batch, a second run) may not have started
    its container yet."""
    now = datetime.now(timezone.utc)
    for image in client.images.list(filters={"label": f"modelferry.image={name}"}):
        created = datetime.fromisoformat(image.attrs.get("Created", "1970-01-01T00:00:00")[:19]).replace(
            tzinfo=timezone.utc
        )
        if now - created < PRUNE_AFTER:
            continue
        for old in (t for t in image.tags if t.startswith(f"modelferry/{name}:") and t != keep):
            try:
                client.images.remove(old)
                log(f"removed the older image {old}")
            except Exception:  # docker.errors.APIError: in use by a container
                pass
