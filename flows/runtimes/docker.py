"""The docker runtime: each stage in its own image, hardened.

A runtime with a warm worker runs its stages as forks of one container per process (flows/runtimes/
docker_warm.py), each under a uid of its own; otherwise, and where that container cannot be had, a stage is a
container of its own: inputs are mounted read-only and the output directory read-write; no network, a
read-only root filesystem with a tmpfs /tmp, a non-root uid, memory/CPU/pids limits and a wall-clock limit.
The container is removed afterwards whatever happened, and a failure carries its last log lines.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from flows.errors import StageFailed
from flows.runtimes import reaper, sandbox
from flows.runtimes.base import (
    Invocation,
    StageRun,
    log_tail,
    raise_failure,
    raise_out_of_memory,
    stage_argv,
    write_config,
)
from flows.runtimes.docker_warm import Containers

# The image's own non-root user; used when the caller is root, so that
# nothing a stage writes is owned by root.
IMAGE_UID = 10001
LABEL = "modelferry.stage"


class DockerLimits:
    def __init__(self, memory: str | None = None, cpus: float | None = None, pids: int = 512):
        self.memory = memory or os.environ.get("MODELFERRY_STAGE_MEMORY", "6g")
        self.cpus = cpus or float(os.environ.get("MODELFERRY_STAGE_CPUS", os.cpu_count() or 1))
        self.pids = pids


def engine_answers(timeout: float = 3.0) -> bool:
    try:
        import docker

        docker.from_env(timeout=timeout).ping()
        return True
    except Exception:  # no socket, no permission, engine down: all mean "not here"
        return False


class DockerRuntime:
    name = "docker"

    def __init__(self, client=None, limits: DockerLimits | None = None, base: str | None = None):
        from flows.images import docker_client

        self.client = client or docker_client()
        self.limits = limits or DockerLimits()
        self.base = base
        self._tags: dict[str, str] = {}
        self._lock = threading.Lock()
        self._warm = Containers(self)

    def tag(self, image: str) -> str:
        from flows.images import base_image, tag_for

        if image not in self._tags:
            self._tags[image] = tag_for(self.client, image, base_image(self.client, self.base))
        return self._tags[image]

    def identity(self, image: str) -> str:
        """The image ID: what the stage really ran in, for cache keys and provenance."""
        tag = self.tag(image)
        try:
            return f"docker:{self.client.images.get(tag).id}"
        except Exception as exc:  # docker.errors.ImageNotFound, or the engine went away
            raise StageFailed(
                f"runtime/{image}",
                f"its image {tag} is gone ({type(exc).__name__}): a newer "
                f"modelferry build replaced it while this run was using it, or it was removed; "
                f"run again",
            ) from None

    def ensure(self, image: str) -> None:
        from flows.images import build

        with self._lock:
            self._tags[image], _ = build(image, self.base, client=self.client)

    def prepare(self, image: str) -> None:
        """A run will start stages in `image`: its warm container is started at warm_up, where the image is
        built (else the runtime's first stage starts it, after ensure built the image)."""
        try:
            self.client.images.get(self.tag(image))
        except Exception:  # not built yet, or no engine: nothing to start ahead
            return
        self._warm.prepare(image)

    def warm_up(self) -> None:
        self._warm.warm_up()

    def owner(self) -> tuple[int, int]:
        """Who a stage's files belong to: the caller, or the image's own user when the caller is root."""
        return (IMAGE_UID, IMAGE_UID) if os.getuid() == 0 else (os.getuid(), os.getgid())

    def _user(self) -> str:
        return ":".join(map(str, self.owner()))

    def run(self, invocation: Invocation) -> StageRun:
        made = self._warm.run(invocation)  # in the runtime's warm container, where it has one
        if made is not None:
            return made
        with tempfile.TemporaryDirectory(prefix=f"modelferry-{invocation.stage}-") as tmp:
            work = Path(tmp)
            write_config(invocation, work)
            os.chmod(work, 0o755)
            volumes = {
                str(work): {"bind": "/config", "mode": "ro"},
                str(invocation.out): {"bind": "/out", "mode": "rw"},
            }
            inputs = []
            for index, path in enumerate(invocation.inputs):
                volumes[str(path)] = {"bind": f"/in/{index}", "mode": "ro"}
                inputs.append(f"/in/{index}")
            if os.getuid() == 0:
                os.chown(invocation.out, IMAGE_UID, IMAGE_UID)
            command = stage_argv(invocation, Path("/config/config.json"), inputs, "/out")[2:]
            run = self._run_container(invocation.image, command, volumes, invocation)
            # A container can leave a link to a host path in /out: the host must not follow it.
            sandbox.check_output(f"{invocation.stage}/{invocation.impl}", invocation.out, log_tail=log_tail(run.log))
            return run

    def _run_container(
        self,
        image: str,
        command: list[str],
        volumes: dict,
        invocation: Invocation,
        entrypoint: list[str] | None = None,
        working_dir: str = "/tmp",
    ) -> StageRun:
        started = time.monotonic()
        cores = invocation.cores
        container = self.client.containers.create(
            self.tag(image),
            command=command,
            entrypoint=entrypoint,
            volumes=volumes,
            working_dir=working_dir,
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": "rw,exec,size=4g"},
            user=self._user(),
            mem_limit=self.limits.memory,
            memswap_limit=self.limits.memory,
            nano_cpus=int((len(cores) if cores else self.limits.cpus) * 1e9),
            pids_limit=self.limits.pids,
            cpuset_cpus=",".join(map(str, cores)) or None,
            security_opt=["no-new-privileges"],
            cap_drop=["ALL"],
            environment={"MODELFERRY_RUNTIME": self.identity(image)},
            labels={
                LABEL: f"{invocation.stage}/{invocation.impl}",
                "modelferry.pid": str(os.getpid()),
                "modelferry.host": socket.gethostname(),
            },
        )
        try:
            with reaper.tracked(f"{invocation.stage}/{invocation.impl}", container.kill):
                container.start()
                try:
                    code = container.wait(timeout=invocation.timeout_s)["StatusCode"]
                except Exception:  # the wait timed out (requests' ReadTimeout/ConnectionError)
                    container.kill()
                    code = None
            log = container.logs(stdout=True, stderr=True).decode(errors="replace")
            state = self.client.api.inspect_container(container.id)["State"]
        finally:
            container.remove(force=True)
        seconds = time.monotonic() - started
        if code == 0:
            return StageRun(seconds=seconds, log=log)
        if state.get("OOMKilled"):
            raise_out_of_memory(invocation, self.limits.memory, log)
        raise_failure(invocation, code, log)

    def exec(self, image: str, argv: list[str], writable: Sequence[Path] = ()) -> int:
        """Run a command in the image under the same hardening (for helpers and checks): the working
        directory read-only, `writable` read-write."""
        self.ensure(image)
        cwd = os.getcwd()
        invocation = Invocation(stage="exec", impl=image, image=image, config={}, inputs=[], out=Path(cwd))
        mounts = {cwd: {"bind": cwd, "mode": "ro"}, **{str(f): {"bind": str(f), "mode": "rw"} for f in writable}}
        for folder in writable:
            if os.getuid() == 0:
                os.chown(folder, IMAGE_UID, IMAGE_UID)
        try:
            run = self._run_container(image, argv[1:], mounts, invocation, entrypoint=[argv[0]], working_dir=cwd)
            print(run.log, end="")
            return 0
        except StageFailed as exc:
            print(exc.log_tail)
            return 1
