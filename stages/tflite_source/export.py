"""export/tflite: a TFLite file -> ONNX with tf2onnx (--tflite)."""

from __future__ import annotations

import onnx

from stages import tf2onnx_cli
from stages.context import StageContext
from stages.errors import StageError
from stages.match import renamed
from stages.onnx.names import own_names
from stages.tflite_source import allowlist

TOOLS = ("tf2onnx", "tensorflow-cpu", "onnx")


DENSIFY = 124  # BuiltinOperator.DENSIFY
# BuiltinOperator codes of TFLite's resource variables (a Keras RNN's state kept across calls)
VARIABLES = {129: "CALL_ONCE", 142: "VAR_HANDLE", 143: "READ_VARIABLE", 144: "ASSIGN_VARIABLE"}


def what_tf2onnx_cannot_read(path, name: str) -> str:
    """The op and node of the file that tf2onnx has no reading for, where the file says: weights stored sparse
    (a DENSIFY op expands them at run time), resource variables, or a custom op (MediaPipe's
    Convolution2DTransposeBias …)."""
    for op in allowlist.operators(allowlist.read(path, name)):
        node = op.output if op.output is not None else "?"
        if op.builtin == DENSIFY:
            return (
                f"its weights are stored sparse and expanded at run time by a DENSIFY op (node {node!r}), "
                f"which tf2onnx does not read"
            )
        if op.builtin in VARIABLES and op.output is not None:  # CALL_ONCE has no output: its VAR_HANDLE has
            return (
                f"it keeps state in resource variables ({VARIABLES[op.builtin]} node {node!r}), which tf2onnx "
                f"does not read"
            )
        if op.builtin == allowlist.CUSTOM:
            return f"it holds the custom op {op.custom} (node {node!r}), which tf2onnx does not read"
    return ""


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    opset = int(ctx.option("opset"))
    out = ctx.out / "model.onnx"
    try:
        proto = tf2onnx_cli.convert(["--tflite", str(source.file("model"))], out, ctx.user_file_name("model"), opset)
    except StageError as exc:
        cause = what_tf2onnx_cannot_read(source.file("model"), ctx.user_file_name("model"))
        raise StageError(f"{exc}{f'; {cause}' if cause else ''}") from None
    # TFLite's fused tensor names ("a/Relu;a/BiasAdd") are no TF op names: onnx2tf would stop at them.
    onnx.save(tf2onnx_cli.tidy_names(proto), out)
    # tf2onnx names the graph's tensors after the TFLite file's (made safe by tidy_names).
    for role in ("inputs", "outputs"):
        expected = [{tf2onnx_cli.UNSAFE.sub("_", spec.get("tensor", spec["name"]))} for spec in manifest[role]]
        manifest[role] = renamed(manifest[role], getattr(proto.graph, role[:-1]), expected)
    manifest["inputs"], manifest["outputs"] = own_names(proto, manifest["inputs"], manifest["outputs"])
    onnx.save(proto, ctx.out / "model.onnx")
    return {
        **manifest,
        "format": "onnx",
        "files": {"model": "model.onnx", **source.carry_to(ctx.out)},
        "metrics": {"opset": tf2onnx_cli.opset_of(proto), "nodes": len(proto.graph.node)},
    }
