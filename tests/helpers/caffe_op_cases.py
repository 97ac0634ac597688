"""Test helper: every handler of modelferry's ONNX -> Caffe emitter (stages/caffe/layers.py and the modules that
register in it) on the small ONNX graphs of tests/helpers/onnx_op_cases.py, against what ONNX says they
compute. Two runtimes, as the route has: the net is written where emit/caffe-net runs, then packed and run in
pycaffe where emit/caffe and validate/caffe run.

    python tests/helpers/caffe_op_cases.py write FOLDER   (tf runtime: each case's net, feeds and expected outputs)
    python tests/helpers/caffe_op_cases.py check FOLDER   (caffe runtime: packed, run, compared; exits 1 on a failure)

`check` prints one line per case and fails if any differs by more than 1e-5 x max(1, |output|), if a form
Caffe cannot compute exactly is not refused in the words expected, or if a registered op has no case that
agrees. Python 3.9 (the caffe image's)."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: stages/, tests/helpers/

SUMMARY = "cases.json"
# the forms this emitter refuses, and what it says
REFUSED = {
    "Pow": "is computed in the graph; Caffe needs it constant",
    "Cast(to=6)": "Caffe's blobs are float32, and it neither truncates nor rounds",
    "Slice": "Caffe crops without a step",
    # not a refusal: a Transpose to channels-last at the graph's end is left out, the output given in NCHW
    "Transpose(perm=[0, 2, 3, 1])": "moved to NCHW: y",
}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def write(out: Path) -> int:
    from stages.caffe.layers import LAYERS
    from stages.caffe.net import BLOBS, PASSES, PROTOTXT, WEIGHTS, build, save
    from stages.errors import StageError
    from stages.onnx import legalize
    from tests.helpers.onnx_op_cases import CASES, expected, feeds_of, model_of, ops_of, specs

    registered = set(LAYERS.ops())
    summary = {"registered": sorted(registered), "files": [PROTOTXT, WEIGHTS, BLOBS], "cases": {}}
    for name in (n for n in CASES if ops_of(n) <= registered):
        model, feeds = model_of(name), feeds_of(name)
        want = expected(name, feeds)
        manifest = specs(name, want)
        entry = {"ops": sorted(ops_of(name)), "outputs": CASES[name].outputs, "refuse": REFUSED.get(name)}
        try:
            legalize.apply(model, PASSES, manifest["inputs"])
            net = build(model, manifest, name)
        except StageError as exc:
            summary["cases"][name] = {**entry, "refused": " ".join(str(exc).split())}
            continue
        moved = [s["name"] for s in manifest["inputs"] + manifest["outputs"] if s.get("layout") == "NCHW"]
        if moved:  # the net takes or gives a tensor in another layout than the graph's: said, not compared
            summary["cases"][name] = {**entry, "refused": f"moved to NCHW: {', '.join(moved)}"}
            continue
        folder = out / _slug(name)
        folder.mkdir(parents=True)
        save(net, folder, "case")
        np.savez(folder / "feeds.npz", **feeds)
        np.savez(folder / "expected.npz", **{o: np.asarray(v) for o, v in zip(CASES[name].outputs, want)})
        summary["cases"][name] = {**entry, "folder": folder.name}
    (out / SUMMARY).write_text(json.dumps(summary, indent=1))
    print(
        f"{sum('folder' in c for c in summary['cases'].values())} nets written, "
        f"{sum('refused' in c for c in summary['cases'].values())} refused"
    )
    return 0


def _in_a_child(run) -> str | None:
    """run() in a forked child, as a stage runs: a net Caffe aborts on (a CHECK failure) is a failed case
    with Caffe's last words, not the end of the check."""
    reply, written = os.pipe()
    with tempfile.TemporaryFile() as log:
        pid = os.fork()
        if pid == 0:  # the child: its stderr (glog's) to the log, its answer to the pipe
            os.close(reply)
            os.dup2(log.fileno(), 2)
            try:
                problem = run()
                answer = "ok" if problem is None else problem
            except Exception as exc:  # noqa: BLE001 - a net Caffe refuses is a failed case, named
                answer = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            os.write(written, answer.encode())
            os._exit(0)
        os.close(written)
        with os.fdopen(reply, "rb") as pipe:
            answer = pipe.read().decode()
        _, status = os.waitpid(pid, 0)
        if not answer:
            log.seek(0)
            said = [line for line in log.read().decode(errors="replace").splitlines() if line.strip()]
            return f"pycaffe died (wait status {status}): {' | '.join(said[-2:])[:400]}"
    return None if answer == "ok" else answer


def check(out: Path) -> int:
    from stages.caffe.model import CaffeModel
    from stages.caffe.pack import packed
    from tests.helpers.agree import differs

    summary = json.loads((out / SUMMARY).read_text())
    prototxt, weights, blobs = summary["files"]  # as emit/caffe-net names them (its module needs onnx)
    failed, agreed = 0, set()
    for name, case in summary["cases"].items():
        problem = None
        if case.get("refuse"):
            said = case.get("refused", "")
            problem = None if case["refuse"] in said else f"not refused as it should be ({case['refuse']}): {said}"
        elif "refused" in case:
            problem = f"refused: {case['refused']}"
        else:
            folder = out / case["folder"]

            def run(folder=folder, case=case):
                with tempfile.TemporaryDirectory() as scratch:  # the cases' folder is the writer's
                    caffemodel = Path(scratch) / "model.caffemodel"
                    packed(folder / prototxt, folder / weights, folder / blobs, caffemodel)
                    model = CaffeModel(folder / prototxt, caffemodel, case["outputs"])
                    with np.load(folder / "feeds.npz") as feeds, np.load(folder / "expected.npz") as want:
                        got, outputs = model(dict(feeds)), case["outputs"]
                        return differs(outputs, [want[o] for o in outputs], [got[o] for o in outputs])

            problem = _in_a_child(run)
            if problem is None:
                agreed |= set(case["ops"])
        failed += problem is not None
        print(("FAIL " if problem else "ok   ") + name + (f": {problem}" if problem else ""))
    missing = sorted(set(summary["registered"]) - agreed)
    if missing:
        print(f"FAIL no case that agrees for the registered op(s) {', '.join(missing)}")
        failed += 1
    print(f"{len(summary['cases']) - failed} of {len(summary['cases'])} cases agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit({"write": write, "check": check}[sys.argv[1]](Path(sys.argv[2])))
