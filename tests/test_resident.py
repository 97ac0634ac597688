"""The resident engine (flows/resident/): a command handed to the Python beside modelferry's server, which
has Prefect imported, says and does what it would have in the caller's own process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from flows import prefect_env
from flows.resident import engine, protocol
from tests.conftest import INPUT_SHAPE, MODELFERRY, REPO, free_port, own_home, processes_under, run_cli


def face_args(face: Path, out: Path, *extra: str) -> list[str]:
    return ["convert", str(face / "model-symbol.json"), "--input-shape", INPUT_SHAPE, "--out", str(out), *extra]


def served(home: dict) -> list[str]:
    """The engine's log: one line per command it ran or refused."""
    log = Path(home["MODELFERRY_HOME"], "server", "engine.log")
    return [line for line in log.read_text().splitlines() if ": modelferry " in line or " refused " in line]


def wait_ready(home: dict, seconds: float = 120) -> int:
    """The engine's pid once it listens."""
    folder = Path(home["MODELFERRY_HOME"], "server")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (folder / "engine.sock").exists() and "ready" in (folder / "engine.log").read_text():
            return int(re.findall(r"engine (\d+) ready", (folder / "engine.log").read_text())[-1])
        time.sleep(0.2)
    raise AssertionError(f"no engine listens in {folder}: {(folder / 'engine.log').read_text()[-2000:]}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"


OWN = ("error:", "nothing was published", "runtime:", "note:", "published to", "▶", "✓", "✗", "│", "face:")


def comparable(stderr: str) -> list[str]:
    """modelferry's own lines of a run (not Prefect's logs, which the tests' environment lets through),
    without what differs between two runs of the same thing (times, the run's folder)."""
    text = re.sub(r"\d{8}T\d{6}Z-\w+-\w+", "RUN", stderr)
    text = re.sub(r"[\d.]+ ms \(p90 [\d.]+\)|in [\d.]+s", "T", text)
    return [line for line in text.splitlines() if line.startswith(OWN)]


def test_a_command_runs_in_the_engine_and_says_what_it_would_have_said_here(env, face, tmp_path):
    """With `modelferry server start`, an engine listens beside the server. A conversion, its unchanged re-run,
    a failing one and `--help` are run by it, with the same lines and exit codes as in the caller's own
    process (MODELFERRY_RESIDENT=off); a call with other Prefect settings is refused and runs here; `server
    stop` ends the engine."""
    home = own_home(env, tmp_path / "home")
    started = run_cli(home, "server", "start", "--port", str(free_port()), timeout=300)
    assert started.returncode == 0, started.stderr[-3000:]
    try:
        pid = wait_ready(home)
        out = tmp_path / "out"
        first = run_cli(home, *face_args(face, out, "--to", "onnx", "--runtime", "venv"))
        assert first.returncode == 0, first.stderr[-3000:]
        assert "published to" in first.stderr and "✓ export/mxnet" in first.stderr
        again = run_cli(home, *face_args(face, out, "--to", "onnx", "--runtime", "venv"))
        here = run_cli(
            {**home, "MODELFERRY_RESIDENT": "off"}, *face_args(face, out, "--to", "onnx", "--runtime", "venv")
        )
        assert again.returncode == here.returncode == 0, again.stderr[-3000:]
        assert "✓ export/mxnet cached" in again.stderr
        assert comparable(again.stderr) == comparable(here.stderr)
        assert len(list(out.glob("*/*/run.json"))) == 3  # each call published its run

        missing = [*face_args(face, out, "--to", "onnx"), "--name", "face"]
        missing[1] = str(tmp_path / "nowhere-symbol.json")
        failed = run_cli(home, *missing)
        failed_here = run_cli({**home, "MODELFERRY_RESIDENT": "off"}, *missing)
        assert failed.returncode == failed_here.returncode == 1, failed.stderr[-3000:]
        assert "nothing was published" in failed.stderr
        assert comparable(failed.stderr) == comparable(failed_here.stderr)

        helped = run_cli(home, "convert", "--help")
        assert helped.returncode == 0 and "Usage: modelferry convert" in helped.stdout, helped.stdout[:500]

        commands = served(home)
        assert len(commands) == 4 and all(": modelferry convert" in line for line in commands), commands

        other = run_cli({**home, "PREFECT_LOGGING_LEVEL": "DEBUG"}, "--help")  # not what the engine imported
        assert "refused" in served(home)[-1] and "Prefect settings" in served(home)[-1], served(home)[-1]
        assert other.returncode == 0 and "Usage: modelferry" in other.stdout
        assert alive(pid)
    finally:
        stopped = run_cli(home, "server", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not alive(pid) and not Path(home["MODELFERRY_HOME"], "server", "engine.sock").exists()


def shared_workers() -> dict[int, str]:
    """The shared warm workers running on this machine: pid -> command line."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"stages.warm.worker" in argv and any(arg.startswith(b"listen:") for arg in argv):
            found[int(proc.name)] = b" ".join(argv).decode(errors="replace")
    return found


def test_the_engines_commands_share_one_warm_worker_per_runtime(env, face, tmp_path):
    """Two conversions the engine runs, each on an empty bundle cache, have their stages forked by the same
    worker of each runtime (each worker's log names both commands); the workers outlive the commands and
    end with `server stop`."""
    home = own_home(env, tmp_path / "home")
    assert run_cli(home, "server", "start", "--port", str(free_port()), timeout=300).returncode == 0
    folder = Path(home["MODELFERRY_HOME"], "server", "warm")
    workers: dict[int, str] = {}
    try:
        wait_ready(home)
        for name in ("first", "second"):
            shutil.rmtree(Path(home["MODELFERRY_HOME"], "bundles"), ignore_errors=True)
            done = run_cli(
                home, *face_args(face, tmp_path / "out", "--to", "onnx", "--runtime", "venv", "--name", name)
            )
            assert done.returncode == 0, done.stderr[-3000:]
            # the stage ran in this command (a stage begun ahead of the flow is then also said "cached")
            assert re.search(r"^✓ export/mxnet [\d.]+s$", done.stderr, re.M), done.stderr[-3000:]
        commands = {int(pid) for pid in re.findall(r"pid (\d+): modelferry convert", "\n".join(served(home)))}
        assert len(commands) == 2, served(home)
        logs = sorted(folder.glob("*.log"))
        assert len(logs) >= 2, logs  # mxnet's (load, export) and the ONNX validation's
        for log in logs:
            hosts = {int(pid) for pid in re.findall(r"^host (\d+)$", log.read_text(), re.M)}
            assert hosts == commands, (log.name, hosts, commands)
        workers = {pid: line for pid, line in shared_workers().items() if str(folder) in line}
        assert len(workers) == len(logs) and all(alive(pid) for pid in workers), workers
    finally:
        run_cli(home, "server", "stop")
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers), "a shared worker outlived its engine"
    assert not list(folder.glob("*.sock"))


def test_the_callers_signals_reach_the_command_and_a_callers_death_ends_it(env, face, tmp_path):
    """SIGTERM to the caller ends the command the engine runs as it would end it here (exit 130, its stages
    gone, nothing published); a caller killed outright (SIGKILL) leaves nothing running either."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    home = own_home(env, tmp_path / "home", TMPDIR=str(scratch))
    assert run_cli(home, "server", "start", "--port", str(free_port()), timeout=300).returncode == 0
    try:
        wait_ready(home)
        for number, code in ((signal.SIGTERM, 130), (signal.SIGKILL, -9)):
            out = tmp_path / f"out-{number}"
            call = subprocess.Popen(
                [MODELFERRY, *face_args(face, out, "--to", "savedmodel", "--runtime", "venv", "--name", f"f{number}")],
                env=home,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            said = []
            for line in call.stderr:
                said.append(line)
                if line.startswith("▶ emit/onnx2tf "):  # onnx2tf 1: seconds
                    break
            assert any(line.startswith("▶ emit/onnx2tf ") for line in said), "".join(said)[-3000:]
            command = int(re.findall(r"pid (\d+): modelferry convert", "\n".join(served(home)))[-1])
            assert command != call.pid and alive(command)
            time.sleep(1)
            call.send_signal(number)
            _, err = call.communicate(timeout=60)
            assert call.returncode == code, err[-3000:]
            if number == signal.SIGTERM:
                assert "nothing was published" in err, err[-3000:]
            deadline = time.monotonic() + 60
            while alive(command) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not alive(command), f"the command {command} still runs after its caller's {number.name}"
            time.sleep(1)
            left = [pid for pid in processes_under(scratch) if alive(pid)]
            assert left == [], left
            assert not list(out.rglob("run.json"))
    finally:
        run_cli(home, "server", "stop")


def test_the_engine_refuses_a_call_it_would_not_run_as_the_caller_would(monkeypatch):
    """Another interpreter or code (the fingerprint), or other Prefect settings: refused, with why."""
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:1/api")
    for key, value in prefect_env.defaults(verbose=False).items():
        monkeypatch.setenv(key, value)
    mine = protocol.fingerprint()
    call = {"fingerprint": mine, "env": {"HOME": "/root"}, "argv": ["modelferry", "convert", "m.onnx"]}
    assert engine.refusal(call, mine) is None
    assert "code" in engine.refusal({**call, "fingerprint": "0" * 64}, mine)
    assert "Prefect" in engine.refusal({**call, "argv": [*call["argv"], "-v"]}, mine)
    assert "Prefect" in engine.refusal({**call, "env": {"PREFECT_API_URL": "http://127.0.0.1:2/api"}}, mine)
    assert "Prefect" in engine.refusal({**call, "env": {"PREFECT_LOGGING_LEVEL": "DEBUG"}}, mine)
    assert engine.refusal({**call, "env": {"PREFECT_API_URL": "http://127.0.0.1:1/api"}}, mine) is None
