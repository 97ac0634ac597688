"""The resident engine: `python -m flows.resident.engine SERVER_PID`, started beside modelferry's server.

It imports what a command needs, listens on engine.sock, and for each caller forks a child (A) that runs
the command in a grandchild (B) and sends back its exit code (see flows/resident/__init__.py). It ends when
the server's process is gone, when it is sent SIGTERM (`modelferry server stop`), or when a caller's code is
newer than its own. The warm workers its commands start (one per runtime, flows/runtimes/warm/shared.py) are
shared by all of them and end with it.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback

from flows import prefect_env
from flows.resident import protocol
from flows.runtimes.warm.pool import POOL
from flows.runtimes.warm.shared import Shared
from flows.server import pid_alive

IMPORTS = (  # what a command's flow run imports, so that its fork imports nothing of it again
    "flows.cli",
    "flows.convert",
    "flows.batch_flow",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.client.orchestration",
)
CHECK_S = 20.0  # how often it looks whether its server still runs
STALE = "its code or interpreter differs from the engine's"
ENGINE = os.getpid()  # the shared warm workers' owner: they end with it
WORKERS = protocol.directory() / "warm"  # their sockets and logs


def log(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}", flush=True)


def refusal(request: dict, mine: str) -> str | None:
    """Why this engine would not run the call exactly as the caller would, or None."""
    if request.get("fingerprint") != mine:
        return STALE
    wanted = protocol.prefect_settings(request["env"], request["argv"], os.environ["PREFECT_API_URL"])
    if wanted != prefect_env.prefect_part(dict(os.environ)):
        return "its Prefect settings differ from the engine's"
    return None


def become(request: dict, streams: list[int]) -> None:
    """B: the caller's command, in its own process group, on the caller's streams, folder and environment."""
    code = 1
    try:
        os.setpgid(0, 0)
        for number, fd in enumerate(streams):
            os.dup2(fd, number)
            os.close(fd)
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None
        POOL.share(Shared(WORKERS, ENGINE))  # the runtimes' workers outlive the command
        sys.argv = request["argv"]
        main_module = sys.modules["__main__"]  # the command's name in its help is the caller's, not the engine's
        main_module.__package__ = main_module.__spec__ = None
        if isinstance(sys.stdout, io.TextIOWrapper):  # line by line on a terminal, as Python starts it there
            sys.stdout.reconfigure(line_buffering=os.isatty(1))
        from flows import cli

        cli.console = cli.new_console()
        cli.main()  # ends the process
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def serve(conn: socket.socket, mine: str) -> None:
    """A: check the call, fork the command, report its pid and its exit code; never returns."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the engine ignores it (the kernel reaps A); A waits
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        if uid != os.getuid():
            os._exit(0)
        data, streams, _, _ = socket.recv_fds(conn, protocol.MAX_MESSAGE, protocol.STREAMS)
        request = json.loads(data)
        why = refusal(request, mine) if len(streams) == protocol.STREAMS else "it did not pass its streams"
        if why:
            protocol.send(conn, {"refused": why})
            log(f"refused {request.get('argv', [])[1:2]}: {why}")
            if why == STALE:
                os.kill(os.getppid(), signal.SIGTERM)  # stale: the next call with the server starts a new one
            os._exit(0)
        command = os.fork()
        if command == 0:
            conn.close()
            become(request, streams)
        for fd in streams:
            os.close(fd)
        log(f"pid {command}: modelferry {' '.join(request['argv'][1:3])}")
        protocol.send(conn, {"pid": command})
        ended = os.pidfd_open(command)
        watching = [ended, conn.fileno()]
        while True:
            ready = select.select(watching, [], [])[0]
            if ended in ready:
                _, status = os.waitpid(command, 0)
                try:
                    protocol.send(conn, {"code": os.waitstatus_to_exitcode(status)})
                except OSError:  # the caller is gone
                    pass
                break
            if conn.fileno() in ready and not conn.recv(protocol.MAX_MESSAGE):  # the caller is gone
                log(f"pid {command}: its caller is gone; SIGTERM")
                os.kill(command, signal.SIGTERM)
                watching = [ended]
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(0)


def prepare() -> str:
    """Import what commands need; the engine's fingerprint. Exits when an import started a thread."""
    for name in IMPORTS:
        importlib.import_module(name)
    running = [thread.name for thread in threading.enumerate()]
    if len(running) > 1:
        log(f"threads after the imports ({', '.join(running)}): forking would not be safe; ending")
        sys.exit(0)
    return protocol.fingerprint()


def listen() -> tuple[socket.socket, int]:
    """engine.sock in the server's folder, reachable by its owner only; a stale one is replaced."""
    os.chdir(protocol.directory())
    try:
        os.unlink(protocol.SOCKET)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    previous = os.umask(0o077)
    try:
        listener.bind(protocol.SOCKET)
    finally:
        os.umask(previous)
    listener.listen(64)
    return listener, os.stat(protocol.SOCKET).st_ino


def main(argv: list[str]) -> int:
    server_pid = int(argv[0])
    started = time.monotonic()
    mine = prepare()
    listener, inode = listen()
    log(f"engine {os.getpid()} ready in {time.monotonic() - started:.2f}s (server pid {server_pid})")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children A are reaped by the kernel
    try:
        while True:
            if not select.select([listener], [], [], CHECK_S)[0]:
                if not pid_alive(server_pid):
                    log("its server is gone; ending")
                    return 0
                continue
            conn, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                serve(conn, mine)
            conn.close()
    finally:
        _remove_socket(inode)


def _remove_socket(inode: int) -> None:
    """Its own socket only: a newer engine may have replaced it."""
    try:
        if os.stat(protocol.SOCKET).st_ino == inode:
            os.unlink(protocol.SOCKET)
    except OSError:
        pass


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.exit(main(sys.argv[1:]))
