"""The venv runtime's sandbox: one stage process under bubblewrap, seeing only what it needs.

A stage runs a model, and a model can carry code (a Keras Lambda let in by --trust-custom-code, an op the
allowlist cannot see through). Under bubblewrap the stage gets new PID, IPC, UTS, cgroup, user and network
namespaces (only its own loopback: the host's 127.0.0.1 is out of reach), no capabilities, no way to make
further user namespaces, and a root made of:

  read-only   /usr (and /bin, /lib, /lib64, /sbin as the host has them), the runtime's venv, the Python
              installation the venv's interpreter links to, the repository's `stages` package (and nothing
              else of the repository), the stage's input bundles, the folder of the host's `node` where the
              runtime runs Node.js, and /sys/devices/system/cpu (CPU topology for the frameworks' thread pools)
  read-write  the stage's output directory and its work directory (its cwd, where config.json lies and
              where converters such as onnx2tf write)
  private     /tmp (a tmpfs; HOME is /tmp/home), /proc of its own PID namespace, a minimal /dev

Everything else of the host (/etc, the rest of /root and /home, the rest of the bundle cache and of the
repository, the host's /tmp) does not exist inside: a folder on the way to a bound path is there, empty
but for that path. Every path keeps its host name, so the stage's argv needs no rewriting.
MODELFERRY_SANDBOX=off runs stages without it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from flows.errors import RuntimeUnavailable, StageFailed

SWITCH = "MODELFERRY_SANDBOX"
HOME = "/tmp/home"
# The environment inside: the host's HOME and TMPDIR do not exist there.
ENVIRONMENT = {"HOME": HOME, "TMPDIR": "/tmp"}
# The host's top-level names that are /usr's folders, or links into it (Debian's merged /usr).
USR_ALIASES = ("bin", "sbin", "lib", "lib64", "lib32", "libx32")
# Read by oneDNN, OpenVINO and XNNPACK to size their pools; nothing in it is the host's data.
CPU_TOPOLOGY = "/sys/devices/system/cpu"
# Every namespace bwrap knows; a user namespace for sure (not just "if possible"), so that the stage
# cannot make more of them (--disable-userns): nested user namespaces are where kernel exploits start.
NAMESPACES = (
    "--unshare-all",
    "--unshare-user",
    "--disable-userns",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
)


def enabled() -> bool:
    """Whether stages run sandboxed: always, unless MODELFERRY_SANDBOX=off."""
    return os.environ.get(SWITCH, "").strip().lower() != "off"


def bwrap_binary() -> str:
    """The host's bwrap, or RuntimeUnavailable saying how to get it."""
    found = shutil.which("bwrap")
    if not found:
        raise RuntimeUnavailable(
            "sandbox",
            "venv stages run inside bubblewrap, and `bwrap` is not installed: "
            "install Debian's bubblewrap (apt-get install bubblewrap), or set "
            f"{SWITCH}=off to run them uncontained",
        )
    return found


def interpreter_dirs(venv: Path) -> list[Path]:
    """The Python installation(s) the venv's interpreter belongs to: pyvenv.cfg's `home` and where
    bin/python links to, each as written and with symlinks resolved (both paths are followed inside)."""
    bins: list[Path] = []
    config = venv / "pyvenv.cfg"
    if config.is_file():
        for line in config.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == "home":
                bins.append(Path(value.strip()))
    python = venv / "bin" / "python"
    if python.is_symlink():
        bins.append(Path(os.path.join(python.parent, os.readlink(python))).parent)
    bins.append(python.resolve().parent)
    found: list[Path] = []
    for folder in bins + [b.resolve() for b in bins]:
        root = folder.parent if folder.name == "bin" else folder  # <prefix>/bin -> <prefix> (stdlib in lib/)
        root = Path(os.path.normpath(root))
        if root not in found:
            found.append(root)
    return found


def _under(path: Path, folders: list[Path]) -> bool:
    return any(path == f or f in path.parents for f in folders)


def argv(
    command: list[str],
    *,
    venv: Path,
    inputs: list[Path],
    out: Path,
    work: Path,
    read_only: Sequence[Path] = (),
    bwrap: str = "bwrap",
    info_fd: int | None = None,
) -> list[str]:
    """The bwrap command line that runs `command` with only the stage's own paths visible (see above);
    `info_fd`: where bwrap writes the pids and namespaces of the sandbox it made (flows/runtimes/warm/
    placeholder.py)."""
    binds: list[tuple[str, Path]] = []  # (bwrap option, path): each is mounted at its own host path

    def add(option: str, path: Path) -> None:
        path = Path(os.path.abspath(path))
        if option == "--ro-bind" and _under(path, [p for o, p in binds if o == "--ro-bind"]):
            return  # already visible through a folder above it (node in /usr/bin)
        binds.append((option, path))

    add("--ro-bind", Path("/usr"))
    for folder in interpreter_dirs(venv):
        add("--ro-bind", folder)
    add("--ro-bind", venv)
    for folder in read_only:
        add("--ro-bind", folder)
    for path in inputs:
        add("--ro-bind", path)
    add("--bind", out)
    add("--bind", work)

    setup = [*NAMESPACES, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", HOME]
    for name in USR_ALIASES:
        host = Path("/") / name
        if host.is_symlink():
            setup += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            add("--ro-bind", host)  # a system without merged /usr
    setup += ["--ro-bind-try", CPU_TOPOLOGY, CPU_TOPOLOGY]
    # Parents before children: a bind under /tmp lands on the tmpfs made above, an output dir inside a
    # read-only folder is mounted over it.
    mounts = []
    for option, path in sorted(binds, key=lambda b: len(b[1].parts)):
        mounts += [option, str(path), str(path)]
    info = ["--info-fd", str(info_fd)] if info_fd is not None else []
    return [bwrap, *info, *setup, *mounts, "--chdir", str(work), "--", *command]


def exit_code(code: int | None) -> int | None:
    """The stage's own exit status: bwrap reports a command killed by signal N as 128 + N, the stage
    contract (and the user's "crashed (signal N)") expects -N."""
    return 128 - code if code is not None and code > 128 else code


def setup_failure(log: str) -> str | None:
    """bwrap's own reason when it could not make the sandbox (its lines start with "bwrap: "), else None."""
    lines = [line for line in log.splitlines() if line.startswith("bwrap: ")]
    return lines[-1] if lines and not any(line.startswith("error: ") for line in log.splitlines()) else None


def check_output(stage: str, out: Path, log_tail: str = "") -> None:
    """Refuse what the host must not follow out of a stage's output: a link to anywhere outside it (the
    host would read and publish the file it names), a FIFO or device (reading it would hang the host)."""
    root = out.resolve()
    for folder, dirs, files in os.walk(out):
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink():
                target = os.readlink(path)
                if not _under(path.resolve(), [root]):
                    raise StageFailed(
                        stage,
                        f"wrote {path.relative_to(out)} as a link to {target}, outside "
                        f"its output: refused (a stage may only publish its own files)",
                        log_tail=log_tail,
                    )
            elif not (path.is_dir() or path.is_file()):
                raise StageFailed(
                    stage,
                    f"wrote {path.relative_to(out)}, which is not a regular file (a FIFO, socket or device): refused",
                    log_tail=log_tail,
                )
