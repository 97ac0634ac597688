"""A stage's own uid in a runtime's container, where many stages share one worker (the docker runtime).

The request's `account` names the uid and gid, the stage's folder (the host's: its config and its inputs lie
there, read-only to the stage; the folder is opened to the stage's gid alone, and the stage cannot rename
what is in it), the folders that become the stage's (its output, work and temporary folders, 0700), and the
owner they go back to when the stage ends (the host takes the output from there, and removes the rest).
Child A (the container's root, with CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID and KILL only) hands the
folders over and takes them back; child B becomes the uid before it reads anything, which leaves it no
capability at all.
"""

from __future__ import annotations

import ctypes
import os
import stat

PR_SET_NO_NEW_PRIVS = 38
MEMORY_EVENTS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


def hand_over(account: dict) -> None:
    """Child A: the stage's folder opened to its gid alone, its own folders to its uid alone."""
    uid, gid = account["uid"], account["gid"]
    os.lchown(account["root"], -1, gid)
    os.chmod(account["root"], 0o750)
    for folder in account["own"]:
        os.lchown(folder, uid, gid)
        os.chmod(folder, 0o700)


def become(account: dict) -> None:
    """Child B: the stage's uid and gid, no other group, no capability left, none to gain by exec; and the
    first the kernel kills when the container runs out of memory (not the worker, nor child A, which says
    that it happened)."""
    with open("/proc/self/oom_score_adj", "w") as score:
        score.write("1000")
    os.setgroups([])
    os.setgid(account["gid"])
    os.setuid(account["uid"])
    os.umask(0o077)
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "setting no_new_privs")
    with open("/proc/self/status") as status:
        held = {line.split(":")[0]: line.split()[1] for line in status if line.startswith("Cap")}
    if any(int(held.get(name, "0"), 16) for name in ("CapPrm", "CapEff", "CapAmb")):
        raise OSError(f"capabilities left after setuid: {held}")


def give_back(account: dict) -> None:
    """Child A, after B's end: every process left of the stage's uid killed (one that left B's group could
    otherwise swap a folder for a link while A walks it), then the stage's own folders and all in them to the
    owner, readable by the stages after it; each file is opened without following links before it is changed
    (links themselves are handed over, not followed: the host refuses them)."""
    _end_all(account["uid"])
    uid, gid = account["owner"]
    for top in account["own"]:
        for folder, folders, files in os.walk(top, topdown=False):
            for name in folders + files:
                _take(os.path.join(folder, name), uid, gid)
        _take(top, uid, gid)


def _end_all(uid: int) -> None:
    """SIGKILL to every process of `uid` in the container: from a child that becomes that uid, which may
    signal its own processes alone."""
    child = os.fork()
    if child == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, 9)  # every process this uid may signal, but this one
        finally:
            os._exit(0)
    os.waitpid(child, 0)


def _take(path: str, uid: int, gid: int) -> None:
    kind = os.lstat(path).st_mode
    if not (stat.S_ISDIR(kind) or stat.S_ISREG(kind)):
        os.lchown(path, uid, gid)  # a link, a socket, a pipe: handed over, never opened
        return
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        os.fchown(fd, uid, gid)
        if stat.S_ISDIR(mode):
            os.fchmod(fd, 0o755)
        elif stat.S_ISREG(mode):
            os.fchmod(fd, 0o755 if mode & stat.S_IXUSR else 0o644)
    finally:
        os.close(fd)


def oom_kills() -> int:
    """How many processes the container's memory limit has killed so far (cgroup v2, else v1)."""
    for path in MEMORY_EVENTS:
        try:
            with open(path) as events:
                for line in events:
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
        except OSError:
            continue
    return 0
