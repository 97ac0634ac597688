"""Test helper (mxnet runtime): every handler of modelferry's ONNX -> MXNet emitter (stages/mxnet/onnx_ops.py,
stages/mxnet/recurrent.py) on the small ONNX graphs of tests/helpers/onnx_op_cases.py, against what ONNX
says they compute. Each graph goes through what emit/mxnet does (its legalizing passes, the symbol built op
by op, bound and run); prints one line per case and exits 1 if any differs, if a form MXNet cannot compute
exactly is not refused, or if a registered op has no case. The inner loop of the emitter: seconds.

    python tests/helpers/mxnet_op_cases.py [CASE ...]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: stages/, tests/helpers/

from stages.errors import StageError  # noqa: E402
from stages.mxnet import checkpoint  # noqa: E402
from stages.mxnet.emit import PASSES, build  # noqa: E402
from stages.mxnet.onnx_ops import OPS  # noqa: E402
from stages.onnx import legalize  # noqa: E402
from tests.helpers.agree import differs  # noqa: E402
from tests.helpers.onnx_op_cases import CASES, expected, feeds_of, model_of, ops_of, specs  # noqa: E402

# the forms this emitter refuses, and what it says
REFUSED = {"LRN(size=2,alpha=0.5)": "size 2 is even"}


def run_case(name) -> str | None:
    """What differs, or None."""
    model, manifest = model_of(name), specs(name)
    if name in REFUSED:
        try:
            build(model, manifest, name)
        except StageError as exc:
            return None if REFUSED[name] in str(exc) else f"refused, but saying {exc}"
        return f"converted; it should be refused ({REFUSED[name]})"
    feeds = feeds_of(name)
    legalize.apply(model, PASSES, manifest["inputs"])  # as emit/mxnet: the passes, then the symbol
    symbol, arg, aux = build(model, manifest, name)
    got = list(checkpoint.run(symbol, arg, aux, feeds, where=name).values())
    return differs(CASES[name].outputs, expected(name, feeds), got)


def main(names) -> int:
    mine = [name for name in CASES if ops_of(name) <= set(OPS.ops())]
    missing = sorted(set(OPS.ops()) - {op for name in mine if name not in REFUSED for op in ops_of(name)})
    failed = 0
    for name in names or mine:
        try:
            problem = run_case(name)
        except Exception as exc:  # noqa: BLE001 - a handler that raises is a failed case, named
            problem = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        failed += problem is not None
        print(f"{'FAIL' if problem else 'ok  '} {name}" + (f": {problem}" if problem else ""))
    if missing and not names:
        print(f"FAIL no case for the registered op(s) {', '.join(missing)}")
        failed += 1
    print(f"{len(names or mine) - failed} of {len(names or mine)} cases agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
