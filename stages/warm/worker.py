"""A warm runtime worker: `python -m stages.warm.worker IMAGE FD IMPORTS`, its control socket on fd FD.

IMPORTS is JSON: {"start": modules, "when_used": modules} (images/<name>/warm.txt). It imports the start
modules and the stage modules of IMAGE once, then, for each request
the host sends, forks a child that runs one stage exactly as `python -m stages` would, from the same
interpreter state with nothing imported again. Fork is safe only from a process with one thread (a lock held
by another thread stays locked in the child for ever): after its imports the worker counts its threads and,
if any framework started one, says so and ends, and the host runs that runtime's stages cold.

Modules marked when-used (TensorFlow: 3-4 s, which most stages of the tf runtime never need) are imported by
the worker once a stage has used one (the host passes on what the stage reported), or before it forks a stage
that used them before (the request names them).

Per request (a SOCK_SEQPACKET message: JSON, with the reply socket and the stage log as file descriptors):
  child A   joins the sandbox the host made for the stage (stages/warm/enter.py), forks the stage, tells
            the host its pid, waits for it and sends its exit code;
  stage B   its own session and process group, stdout and stderr to the log, on its cores, no privileges,
            the stage's environment, then `stages.__main__.main(argv)`.
A crash, a timeout or a kill ends B (and A), never the worker. The worker ends when the host closes its end.

A shared worker (`python -m stages.warm.worker IMAGE listen:PATH IMPORTS OWNER`, started for the commands
the resident engine runs: flows/runtimes/warm/shared.py) listens on the socket PATH instead, binding it
before its imports so that hosts queue meanwhile. Each host that connects (same uid only) gets the hello
and then talks as above on its own connection. It ends when the process OWNER (the engine) ends, or when no
host has been connected for IDLE_S.

In a runtime's container (the docker runtime, flows/runtimes/docker_warm.py) there is no bubblewrap: the
worker runs as the container's root with a few capabilities, and the request names a uid of the stage's own
(stages/warm/account.py). A gives the stage's folder to that uid, B takes it and loses every capability on
the way (it reads nothing before), and after B's end A gives the stage's output back to the owner the host
names. Stages of one container so cannot read or write one another's folders.
"""

from __future__ import annotations

import compileall
import ctypes
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import time
import traceback

import stages
from stages.warm import account

MAX_MESSAGE = 1 << 20
LISTEN = "listen:"  # the control argument of a shared worker: the socket path it listens on
IDLE_S = 900.0  # a shared worker with no host connected for this long ends, and its memory is free again
CHECK_S = 5.0
EXIT_SETUP = 70  # the child could not become the stage (it says why; the host runs the stage cold)


def send(sock: socket.socket, message: dict) -> None:
    sock.send(json.dumps(message).encode())


def preload(image: str, modules: list[str]) -> list[str]:
    """Import the given modules and the image's stage modules; returns what could not be imported, with why."""
    from stages import catalog
    from stages.__main__ import pin_environment

    pin_environment(image)  # before any framework is imported

    names = [*modules, *dict.fromkeys(m for impl in catalog.IMPLS if impl.image == image for m in impl.modules)]
    return importing(names)


def importing(names: list[str]) -> list[str]:
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a module this runtime lacks: the stage that needs it imports it (and fails) cold
            missing.append(f"{name} ({type(exc).__name__})")
    return missing


def threads() -> list[str]:
    tasks = sorted(os.listdir("/proc/self/task"))
    names = []
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            names.append(task)
    return names


def _set_openmp_threads(count: int) -> None:
    """libgomp read OMP_NUM_THREADS when the worker loaded it: give the stage's core count to the library
    already loaded (torch's intra-op pool is OpenMP's)."""
    with open("/proc/self/maps") as maps:
        libraries = {line.split()[-1] for line in maps if "libgomp" in line or "libiomp" in line}
    for path in libraries:
        try:
            ctypes.CDLL(path).omp_set_num_threads(count)
        except (OSError, AttributeError):
            pass


def run_stage(request: dict, log: int, said: int, when_used: list[str]) -> None:
    """Child B: become the stage process and never return. At its end it writes on `said` which of the
    when-used modules it imported itself (not those the worker had), or, when it could not become the stage,
    why (child A reads both)."""
    code, setup, inherited = EXIT_SETUP, None, set(sys.modules)
    try:
        os.setsid()
        os.dup2(log, 1)
        os.dup2(log, 2)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.closerange(3, said)
        os.closerange(said + 1, os.sysconf("SC_OPEN_MAX"))
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        if request.get("sandbox"):
            from stages.warm.enter import drop_privileges

            drop_privileges()
        if request.get("account"):
            account.become(request["account"])
        os.chdir(request["cwd"])
        if request.get("cores"):
            os.sched_setaffinity(0, request["cores"])
            _set_openmp_threads(len(request["cores"]))
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None
        from stages.__main__ import main

        sys.argv = ["python -m stages", *request["argv"]]
    except BaseException as exc:
        setup = f"{type(exc).__name__}: {exc}"
    try:
        if setup is None:
            code = main(request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        used = [name for name in when_used if name in sys.modules and name not in inherited]
        message = {"setup": setup} if setup else {"used": used}
        try:
            os.write(said, json.dumps(message).encode())
        except OSError:
            pass
        os._exit(code)


def serve(request: dict, reply: socket.socket, log: int, sockets: list[socket.socket], when_used: list[str]) -> None:
    """Child A: enter the sandbox, fork the stage, report its pid and exit code, and never return. `sockets`:
    the worker's own (its hosts' connections, its listener), which A closes."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the worker reaps A by ignoring SIGCHLD; A waits for B
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for sock in sockets:
            sock.close()
        if request.get("sandbox"):
            from stages.warm.enter import Sandbox

            try:
                Sandbox(request["sandbox"]).join()
            except OSError as exc:
                send(reply, {"unavailable": f"could not enter the stage's sandbox ({exc.strerror or exc})"})
                os._exit(0)
        ooms = 0
        if request.get("account"):
            try:
                account.hand_over(request["account"])
            except OSError as exc:
                send(reply, {"unavailable": f"could not give the stage its own folders ({exc.strerror or exc})"})
                os._exit(0)
            ooms = account.oom_kills()
        readable, writable = os.pipe()
        stage = os.fork()
        if stage == 0:
            reply.close()
            os.close(readable)
            run_stage(request, log, writable, when_used)
        os.close(log)
        os.close(writable)
        send(reply, {"pid": stage})
        _, status = os.waitpid(stage, 0)
        said = os.read(readable, MAX_MESSAGE) if select.select([readable], [], [], 0)[0] else b""
        try:
            said = json.loads(said or b"{}")
        except ValueError:
            said = {}
        said = said if isinstance(said, dict) else {}
        if said.get("setup"):  # it never became the stage: the host runs it cold
            send(reply, {"unavailable": f"the stage could not be set up ({str(said['setup'])[:300]})"})
        else:  # the stage's words, so only the names the worker knows
            used = [name for name in when_used if name in (said.get("used") or [])]
            done = {"code": os.waitstatus_to_exitcode(status), "used": used}
            if request.get("account"):
                done["oom"] = account.oom_kills() > ooms
                try:
                    account.give_back(request["account"])
                except OSError as exc:  # what the stage left cannot be taken back: it is not a result
                    done.update(code=done["code"] or 1, why=f"its output could not be taken back ({exc})")
            send(reply, done)
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(0)


def next_message(host: socket.socket) -> tuple[dict, list[int]] | None:
    """A host's next message and the descriptors it carries; None when the host closed its end."""
    try:
        data, fds, _, _ = socket.recv_fds(host, MAX_MESSAGE, 2)
    except ConnectionResetError:
        return None
    if not data:
        for fd in fds:
            os.close(fd)
        return None
    return json.loads(data), fds


def handle(message: dict, fds: list[int], sockets: list[socket.socket], when_used: list[str]) -> bool:
    """One message from a host: modules to import, or a stage to fork. False: this worker must end (a
    framework started a thread, so forking it is no longer safe; its hosts run their stages cold)."""
    if "import" in message:  # from the host: when-used modules a stage used
        importing([name for name in message["import"] if name in when_used])
        return len(threads()) == 1
    reply_fd, log = fds
    reply = socket.socket(fileno=reply_fd)
    importing([name for name in message.get("imports", []) if name in when_used])  # what the stage will use
    if len(threads()) > 1:
        send(reply, {"unavailable": f"the worker has threads after importing {message['imports']}"})
        return False
    if os.fork() == 0:
        serve(message, reply, log, sockets, when_used)
    reply.close()
    os.close(log)
    return True


def loop(control: socket.socket, when_used: list[str]) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children A are reaped by the kernel
    while True:
        got = next_message(control)
        if got is None or not handle(*got, [control], when_used):
            return  # the host closed its end (its run is over), or forking is no longer safe


def peer(conn: socket.socket) -> tuple[int, int]:
    """The connecting process's pid and uid."""
    pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return pid, uid


def loop_shared(listener: socket.socket, owner: int, hello: dict, when_used: list[str]) -> None:
    """A shared worker's hosts, each on its own connection, until its owner ends or it has been idle."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    ended = os.pidfd_open(owner)  # readable once the owner has ended
    hosts: list[socket.socket] = []
    idle_since = time.monotonic()
    while True:
        ready = select.select([ended, listener, *hosts], [], [], CHECK_S)[0]
        if ended in ready or (not hosts and time.monotonic() - idle_since > IDLE_S):
            return
        for sock in ready:
            if sock is listener:
                conn, _ = listener.accept()
                pid, uid = peer(conn)
                if uid == os.getuid():
                    print(f"host {pid}", flush=True)  # its log: which commands it served
                    send(conn, hello)
                    hosts.append(conn)
                else:
                    conn.close()
            elif sock is not ended:
                got = next_message(sock)
                if got is None:
                    hosts.remove(sock)
                    sock.close()
                    idle_since = time.monotonic()
                elif not handle(*got, [listener, *hosts], when_used):
                    return


def listen(path: str) -> tuple[socket.socket, int]:
    """A shared worker's socket, its owner's only; reached through its folder (a socket's address holds
    108 bytes, a MODELFERRY_HOME may be longer). Returns it and its inode (removed at the end if still ours)."""
    folder, name = os.path.split(path)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    previous = os.umask(0o077)
    try:
        listener.bind(f"/proc/self/fd/{fd}/{name}")
        inode = os.stat(name, dir_fd=fd).st_ino
    finally:
        os.umask(previous)
        os.close(fd)
    listener.listen(64)
    return listener, inode


def remove_socket(path: str, inode: int) -> None:
    try:
        if os.stat(path).st_ino == inode:
            os.unlink(path)
    except OSError:
        pass


def control_socket(where: str) -> socket.socket:
    """The host's end: an inherited descriptor (a venv runtime), or a socket path in the container's mount."""
    if where.isdigit():
        return socket.socket(fileno=int(where))
    control = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    control.connect(where)
    return control


def main(argv: list[str]) -> int:
    image, where, imports = argv[0], argv[1], json.loads(argv[2])
    shared = where.startswith(LISTEN)
    if shared:
        path = where[len(LISTEN) :]
        listener, inode = listen(path)  # before the imports: hosts that connect meanwhile wait for the hello
        try:
            return serve_shared(image, listener, int(argv[3]), imports)
        finally:
            remove_socket(path, inode)
    control = control_socket(where)
    hello = start(image, imports)
    send(control, hello)
    if hello["ready"]:
        loop(control, imports["when_used"])
    return 0


def serve_shared(image: str, listener: socket.socket, owner: int, imports: dict) -> int:
    hello = start(image, imports)
    print(json.dumps(hello), flush=True)  # its log
    if hello["ready"]:
        loop_shared(listener, owner, hello, imports["when_used"])
    return 0


def start(image: str, imports: dict) -> dict:
    """Compile and import; the hello: ready, or why not."""
    started = time.monotonic()
    # The stages package with bytecode for this runtime's Python (stages run where PYTHONDONTWRITEBYTECODE
    # is set, and inside their sandbox they could not write it): compiled once, then read by every fork.
    compileall.compile_dir(os.path.dirname(os.path.abspath(stages.__file__)), quiet=2)
    missing = preload(image, imports["start"])
    running = threads()
    if len(running) > 1:
        why = f"{len(running)} threads after its imports ({', '.join(running)}): forking it is not safe"
        return {"ready": False, "why": why}
    return {"ready": True, "seconds": round(time.monotonic() - started, 3), "missing": missing, "pid": os.getpid()}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
