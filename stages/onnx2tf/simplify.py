"""onnx-simplifier as onnx2tf runs it, in one process instead of three.

Before it converts, onnx2tf runs the `onnxsim` command three times on its input, each a new process:
0.75 s a pass on MobileNetV2, 0.5 s of it importing onnx-simplifier and ONNX Runtime again. A process it
must be: onnx-simplifier's C++ crashes (SIGSEGV) in a process that imported TensorFlow before it, as every
stage of the tf runtime has. Here one process (`python -m stages.onnx2tf.simplify`) runs the same
simplification, with the same arguments, pass after pass until one changes nothing, at most three; onnx2tf
then runs with `not_use_onnxsim`. Where onnxsim fails or crashes, the model goes on as it was, as onnx2tf
goes on.

Left to onnx2tf itself: graphs with Einsum or OneHot (onnx2tf simplifies those again after correcting
their shapes, only where it runs onnxsim itself) and graphs whose weights are external data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PASSES = 3  # onnx2tf's
RESIMPLIFIED = {"Einsum", "OneHot"}  # onnx2tf runs onnxsim again on graphs with these


def applies(model_path: Path) -> bool:
    """Whether this simplification is the one onnx2tf would run on the graph."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    external = any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    return not external and not any(node.op_type in RESIMPLIFIED for node in model.graph.node)


def _passes(model_path: Path, shapes: dict[str, list[int]]) -> None:
    """onnxsim's command line's simplification (`onnxsim in out --overwrite-input-shape …`), in place,
    until a pass changes nothing."""
    import onnx
    from onnxsim import simplify

    data = model_path.read_bytes()
    for _ in range(PASSES):
        model, _ok = simplify(onnx.load_from_string(data), overwrite_input_shapes=dict(shapes), test_input_shapes={})
        simpler = model.SerializeToString()
        if simpler == data:
            break
        data = simpler
    scratch = model_path.with_name(model_path.name + ".simplified")  # replaced whole or not at all
    scratch.write_bytes(data)
    scratch.replace(model_path)


def run(model_path: Path, overwrite_input_shape: list[str]) -> bool:
    """Simplify `model_path` in place (onnx2tf's `name:d0,d1,…` input shapes); whether it was."""
    code = Path(__file__).resolve().parents[2]  # the directory that holds the `stages` package
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "stages.onnx2tf.simplify", str(model_path), *overwrite_input_shape], env=env, check=False
    )
    if done.returncode != 0:
        print(f"onnxsim could not simplify {model_path.name}; onnx2tf converts it as it is", file=sys.stderr)
        return False
    return True


def main(argv: list[str]) -> None:
    model_path, shapes = Path(argv[0]), argv[1:]
    dims = {name: [int(d) for d in value.split(",")] for name, value in (s.rsplit(":", 1) for s in shapes)}
    _passes(model_path, dims)


if __name__ == "__main__":
    main(sys.argv[1:])
