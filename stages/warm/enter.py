"""How a forked stage enters the sandbox a host made for it, and gives up every privilege on the way in.

The host starts bubblewrap around a placeholder (`sleep`) with the stage's own mounts, exactly as for a
stage run cold (flows/runtimes/sandbox.py), and names the placeholder's pid. The worker's child opens that
process's namespaces and root, joins them (mount, PID, network, IPC, UTS and cgroup first, then the user
namespace: joining the user namespace first leaves too few rights to join the rest), and takes the sandbox's
root as its own. The stage is forked after that, so that it is in the sandbox's PID namespace too, and it
drops every capability (bounding set, ambient, effective, permitted, inheritable) and sets no_new_privs before
it reads anything: what it sees is what a cold stage sees.
"""

from __future__ import annotations

import ctypes
import os

NAMESPACES = ("mnt", "pid", "net", "ipc", "uts", "cgroup", "user")  # the order they are joined in
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4
CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


class Sandbox:
    """The namespaces and root of the placeholder process `pid`, opened while they can still be found
    (after the mount namespace is joined, the host's /proc/<pid> is out of sight)."""

    def __init__(self, pid: int):
        self.namespaces = {name: os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY) for name in NAMESPACES}
        self.root = os.open(f"/proc/{pid}/root", os.O_RDONLY)

    def join(self) -> None:
        """Join every namespace and take the sandbox's root; the caller forks the stage after this."""
        for name in NAMESPACES:
            _check(_libc.setns(self.namespaces[name], 0), f"joining the sandbox's {name} namespace")
            os.close(self.namespaces[name])
        os.fchdir(self.root)
        os.chroot(".")
        os.chdir("/")
        os.close(self.root)


def drop_privileges() -> None:
    """No capability left, none to regain by exec (an empty bounding set), no set-uid gains (no_new_privs)."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for capability in range(last + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), f"dropping capability {capability}")
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clearing ambient capabilities")
    header, data = Header(CAPABILITY_VERSION_3, 0), (Data * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "dropping capabilities")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "setting no_new_privs")
