"""Runs inside the tf runtime: modelferry's own ONNX -> TF translation (stages/tfops), evaluated eagerly on
ONNX's backend node tests and compared with the outputs the tests ship. Seconds for all 1600+ tests: a
quick check of the handlers' semantics (no TFLite: bench/conformance.py measures the whole route).

    modelferry runtime exec tf -- python bench/tfops_sweep.py [--tests a,b | --all] [--out FILE.json]

Per test: ok (within 1e-3 of the expected outputs, relative to their largest magnitude; integers and
booleans exactly; NaN where NaN is expected), mismatch (the worst error), failed (the handler's error).
Prints a table of the failures and mismatches and the count; exits 1 if a named --tests test is not ok.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
NODE_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"
TOLERANCE = 1e-3


def _arrays(folder: Path, kind: str, count: int) -> list[np.ndarray]:
    return [numpy_helper.to_array(onnx.load_tensor(str(folder / f"{kind}_{i}.pb"))) for i in range(count)]


def error(got: np.ndarray, want: np.ndarray) -> float:
    """The worst difference relative to the expected outputs' largest magnitude; inf where shapes, NaN
    positions or non-float values differ."""
    got = np.asarray(got)
    if got.shape != want.shape:
        return float("inf")
    if want.dtype.kind not in "fc":
        return 0.0 if (got == want).all() else float("inf")
    a, b = got.astype(np.float64), want.astype(np.float64)
    if (
        not (np.isnan(a) == np.isnan(b)).all()
        or not (np.isinf(a) == np.isinf(b)).all()
        or not (a[np.isinf(a)] == b[np.isinf(b)]).all()
    ):
        return float("inf")
    finite = np.isfinite(b)
    if not finite.any():
        return 0.0
    scale = max(float(np.abs(b[finite]).max()), 1.0)
    return float(np.abs(a[finite] - b[finite]).max()) / scale


def check(name: str) -> dict:
    import tensorflow as tf

    from stages.tfops.graph import Evaluator

    folder = NODE_DIR / name
    model = onnx.load(str(folder / "model.onnx"))
    weights = {init.name for init in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in weights]
    try:
        given = _arrays(folder / "test_data_set_0", "input", len(inputs))
        wanted = _arrays(folder / "test_data_set_0", "output", len(model.graph.output))
    except Exception as exc:  # sequences, optionals
        return {"test": name, "verdict": "skipped", "why": f"{type(exc).__name__}: {exc}"[:200]}
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    try:
        feeds = {v.name: tf.constant(a) for v, a in zip(inputs, given, strict=True)}
        results = Evaluator(opset).run_graph(model.graph, feeds)
    except Exception as exc:
        return {"test": name, "verdict": "failed", "why": " ".join(f"{type(exc).__name__}: {exc}".split())[:200]}
    worst = max((error(r, w) for r, w in zip(results, wanted, strict=True)), default=0.0)
    return {"test": name, "verdict": "ok" if worst <= TOLERANCE else "mismatch", "error": worst}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", help="comma-separated test names")
    parser.add_argument("--all", action="store_true", help="every node test")
    parser.add_argument("--out", type=Path, help="write the verdicts as JSON")
    args = parser.parse_args()
    names = sorted(p.name for p in NODE_DIR.iterdir() if (p / "model.onnx").is_file())
    picked = [n.strip() for n in args.tests.split(",") if n.strip()] if args.tests else names if args.all else []
    if not picked:
        parser.error("name --tests or --all")
    results = [check(name) for name in picked]
    print("| test | verdict | error or why |\n| --- | --- | --- |")
    for r in results:
        if r["verdict"] != "ok":
            print(f"| {r['test']} | {r['verdict']} | {r.get('why', '%.3g' % r.get('error', 0))} |")
    ok = sum(r["verdict"] == "ok" for r in results)
    print(f"\n**{ok}/{len(results)} ok**")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0 if args.all or ok == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
