"""The venv runtime's sandbox (bubblewrap): what a stage sees, and what code in a model cannot do.

A Keras model whose Lambda tries to write on the host, read host files, reach 127.0.0.1 and link a host
file into its output is converted with --trust-custom-code twice: with MODELFERRY_SANDBOX=off, where each
attempt works (so the test can see an escape), and under bubblewrap, where none does.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from flows.errors import RuntimeUnavailable, StageFailed
from flows.runtimes import sandbox
from flows.runtimes.base import Invocation
from flows.runtimes.venv import VenvRuntime
from tests.conftest import REPO, connections, escape_attempts, escape_model, files_holding, run_cli

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


# Run inside the sandbox: what of the host it can see and do. argv[1] is JSON with the paths to try.
PROBE = r"""
import json, os, socket, sys
want = json.loads(sys.argv[1])
seen, did = [], {}
skip = {"/proc", "/dev", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}
for top in sorted(os.listdir("/")):
    start = "/" + top
    if start in skip:
        continue
    for folder, dirs, files in os.walk(start):
        seen.append(folder)
        seen += [os.path.join(folder, name) for name in files]
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in want["bound"]]

def attempt(name, action):
    try:
        did[name] = {"done": action()}
    except Exception as exc:
        did[name] = {"failed": f"{type(exc).__name__}: {exc}"}

def connect():
    with socket.create_connection(("127.0.0.1", want["port"]), timeout=3) as sock:
        sock.sendall(b"escaped")

attempt("list /root", lambda: sorted(os.listdir("/root")))
attempt("list /work", lambda: sorted(os.listdir("/work")))
attempt("list repository", lambda: sorted(os.listdir(want["repository"])))
attempt("read canary", lambda: open(want["canary"]).read())
attempt("connect", connect)
attempt("write input", lambda: open(os.path.join(want["input"], "escaped"), "w").write("x"))
attempt("write venv", lambda: open(os.path.join(want["venv"], "escaped"), "w").write("x"))
attempt("write stages", lambda: open(os.path.join(want["repository"], "stages", "escaped"), "w").write("x"))
attempt("write out", lambda: open(os.path.join(want["out"], "made"), "w").write("x"))
attempt("write cwd", lambda: open("made", "w").write("x"))
attempt("write tmp", lambda: open(want["tmp"], "w").write("x"))
attempt("import stages", lambda: __import__("stages.catalog").__name__)
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
print(json.dumps({"seen": seen, "did": did, "home": os.environ["HOME"], "cwd": os.getcwd(),
                  "pids": [p for p in os.listdir("/proc") if p.isdigit()], "caps": status["CapEff"].strip(),
                  "cpus": os.cpu_count()}))
"""


@pytest.mark.e2e  # its stage runs in the tf runtime's venv
def test_sandbox_shows_a_stage_only_its_own_paths(tmp_path, listener):
    runtime = VenvRuntime()
    runtime.ensure("tf")
    host = listener()
    bundle, out, work = tmp_path / "bundle", tmp_path / "out", tmp_path / "work"
    for folder in (bundle, out, work):
        folder.mkdir()
    (bundle / "model.onnx").write_bytes(b"model")
    canary = tmp_path / "canary.txt"
    canary.write_text(secrets.token_hex(16))
    venv = runtime.path("tf")
    read_only = [REPO / "stages"]
    bound = [
        *sandbox.interpreter_dirs(venv),
        venv,
        *read_only,
        bundle,
        out,
        work,
        Path(sandbox.CPU_TOPOLOGY),
        Path(sandbox.HOME),
    ]
    private = Path("/tmp") / f"made-{secrets.token_hex(8)}"  # the sandbox's /tmp, not the host's
    want = {
        "bound": [str(p) for p in bound],
        "port": host.port,
        "canary": str(canary),
        "input": str(bundle),
        "venv": str(venv),
        "out": str(out),
        "repository": str(REPO),
        "tmp": str(private),
    }
    argv = sandbox.argv(
        [str(runtime.python("tf")), "-c", PROBE, json.dumps(want)],
        venv=venv,
        inputs=[bundle],
        out=out,
        work=work,
        read_only=read_only,
        bwrap=shutil.which("bwrap"),
    )
    env = {**runtime.environment("tf"), **sandbox.ENVIRONMENT}
    done = subprocess.run(argv, env=env, cwd=work, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    did = got["did"]

    # Nothing of the host but the bound paths and the folders that lead to them: not /etc, not the rest
    # of /root, /work or the repository, not the host's /tmp (the canary is there).
    def allowed(path: str) -> bool:
        return any(path == str(b) or Path(path) in b.parents or Path(path).is_relative_to(b) for b in bound)

    assert [p for p in got["seen"] if not allowed(p)] == []
    assert not any(p.startswith("/etc") for p in got["seen"])
    # /root and /work hold only the folders on the way to the interpreter, the venv and `stages`.
    for top in ("/root", "/work"):
        listed = did[f"list {top}"].get("done", [])
        assert set(listed) <= {Path(p).relative_to(top).parts[0] for p in want["bound"] if p.startswith(top + "/")}
    assert did["list repository"] == {"done": ["stages"]}
    assert did["read canary"]["failed"].startswith("FileNotFoundError")
    # Its own loopback only: the host's listener is not there.
    assert did["connect"].get("failed", "").startswith("ConnectionRefusedError"), did["connect"]
    assert connections(host) == []
    for name in ("write input", "write venv", "write stages"):
        assert "Read-only file system" in did[name].get("failed", ""), (name, did[name])
    escaped = [p for p in (bundle / "escaped", venv / "escaped", REPO / "stages" / "escaped") if p.exists()]
    for path in escaped:  # a broken sandbox must not leave its file in the repository
        path.unlink()
    assert escaped == []
    for name in ("write out", "write cwd", "write tmp", "import stages"):
        assert "done" in did[name], (name, did[name])
    assert (out / "made").is_file() and (work / "made").is_file() and not private.exists()
    assert got["home"] == sandbox.HOME and got["cwd"] == str(work)
    assert got["caps"] == "0000000000000000" and len(got["pids"]) <= 3  # bwrap's init, the probe
    assert got["cpus"] == os.cpu_count()


@pytest.mark.e2e  # the tf runtime's venv
def test_a_crash_inside_reads_as_a_crash(tmp_path):
    """bwrap passes a signal death on as exit 128 + N; the stage contract still says "crashed (signal N)"."""
    runtime = VenvRuntime()
    python = str(runtime.python("tf"))
    argv = sandbox.argv(
        [python, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
        venv=runtime.path("tf"),
        inputs=[],
        out=tmp_path,
        work=tmp_path,
        bwrap=shutil.which("bwrap"),
    )
    code = subprocess.run(argv, env=runtime.environment("tf"), capture_output=True).returncode
    assert code == 128 + 11 and sandbox.exit_code(code) == -11


def test_links_out_of_the_output_are_refused(tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "weights.bin").write_bytes(b"w")
    (out / "inside").symlink_to("sub/weights.bin")
    sandbox.check_output("emit/x", out)  # a link within the output is the stage's own file
    (out / "sub" / "leak").symlink_to("/etc/hostname")
    with pytest.raises(StageFailed, match=r"wrote sub/leak as a link to /etc/hostname, outside its output"):
        sandbox.check_output("emit/x", out)
    (out / "sub" / "leak").unlink()
    os.mkfifo(out / "pipe")
    with pytest.raises(StageFailed, match="not a regular file"):
        sandbox.check_output("emit/x", out)


@pytest.mark.e2e  # the tf runtime's venv
def test_without_bwrap_a_stage_fails_saying_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    monkeypatch.delenv(sandbox.SWITCH, raising=False)
    runtime = VenvRuntime()
    invocation = Invocation(stage="load", impl="onnx", image="tf", config={}, inputs=[], out=tmp_path / "out")
    with pytest.raises(RuntimeUnavailable) as raised:
        runtime.run(invocation)
    assert str(raised.value).startswith(
        "[load/onnx] venv stages run inside bubblewrap, and `bwrap` is not installed: install Debian's bubblewrap"
    )
    assert runtime.containment() == "bubblewrap"
    monkeypatch.setenv(sandbox.SWITCH, "off")
    assert runtime.containment() == "none (MODELFERRY_SANDBOX=off)"


def test_a_lambda_layer_cannot_escape_the_load_stage(env, tmp_path, listener):
    bundles = Path(env["MODELFERRY_HOME"]) / "bundles"
    # A wide console: the stage's log line with the attempts must not be wrapped.
    run_env = {**env, "COLUMNS": "100000"}
    runs = {}
    for mode in ("off", "bubblewrap"):
        folder = tmp_path / mode
        marker = folder / "marker"
        marker.mkdir(parents=True)
        host_canary = folder / "secret" / "canary.txt"  # somewhere else on the host
        cache_canary = bundles / f"sandbox-canary-{secrets.token_hex(8)}" / "canary.txt"  # another bundle
        tokens = [secrets.token_hex(16).encode() for _ in range(2)]
        for path, token in zip((host_canary, cache_canary), tokens, strict=True):
            path.parent.mkdir(parents=True)
            path.write_bytes(token)
        host = listener()
        model = folder / f"escape_{mode}.keras"
        escape_model(env, model, marker, [host_canary, cache_canary], host.port)
        switch = {"MODELFERRY_SANDBOX": "off"} if mode == "off" else {}
        result = run_cli(
            {**run_env, **switch},
            "convert",
            str(model),
            "--to",
            "onnx",
            "--trust-custom-code",
            "--runtime",
            "venv",
            "--out",
            str(folder / "out"),
            "-v",
        )
        runs[mode] = SimpleNamespace(
            result=result,
            output=result.stdout + result.stderr,
            marker=marker,
            host=host,
            tokens=tokens,
            out=folder / "out",
            cache_canary=cache_canary,
        )
    try:
        # Uncontained, every attempt works: the test would see an escape.
        off = runs["off"]
        tried = escape_attempts(off.output)
        assert (off.marker / "escaped").is_file(), tried
        assert b"escaped" in connections(off.host), tried
        assert all(token.decode() in off.output for token in off.tokens), tried
        assert tried["input"].startswith("done"), tried
        assert "'flows'" in tried["repository"], tried
        assert tried["process"] == "warm", tried  # warm without the sandbox too: the same fork, uncontained

        # Under bubblewrap, none does.
        on = runs["bubblewrap"]
        tried = escape_attempts(on.output)
        assert not (on.marker / "escaped").exists(), tried
        assert tried["marker"].startswith("FileNotFoundError"), tried
        assert connections(on.host) == [], tried
        assert tried["connect"].startswith("ConnectionRefusedError"), tried
        assert tried["canary-0"].startswith("FileNotFoundError") and tried["canary-1"].startswith("FileNotFoundError")
        assert "Read-only file system" in tried["input"], tried
        assert tried["repository"] == "done: ['stages']", tried
        # A fork of the tf runtime's warm worker that joined the stage's sandbox: no capability left, none in
        # its bounding set, and no user namespace of its own.
        assert tried["process"] == "warm" and tried["capabilities"] == "0000000000000000/0000000000000000", tried
        assert tried["user namespace"].startswith("OSError"), tried
        # It could leave links to the canaries in its output; the runtime refuses them, so the host never
        # reads them.
        assert tried["link-0"].startswith("done"), tried
        assert re.search(r"\[load/keras\] wrote leak-\d as a link to \S+, outside its output: refused", on.output)
        assert on.result.returncode == 1
        for token in on.tokens:
            assert token.decode() not in on.output
            assert files_holding(on.out, token) == []  # published files and the report
            assert files_holding(bundles, token, but=on.cache_canary) == []  # the bundle cache
    finally:
        for run in runs.values():
            shutil.rmtree(run.cache_canary.parent, ignore_errors=True)
