"""load/tflite: a float TFLite file as a source; LiteRT computes golden.

Only the flatbuffer is read (no code runs). Files with quantized inputs or
outputs are refused: their golden would be in integers, not the model's units.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.tflite_source import allowlist
from stages.trust.policy import verdict

TOOLS = ("ai-edge-litert", "numpy")
IDENTIFIER = b"TFL3"  # the flatbuffer file identifier, at bytes 4..8


def open_model(path, name: str, trusted: bool = False):
    """The checked model, and what the trust policy recorded."""
    from stages.tflite.signature import TFLiteModel

    head = path.read_bytes()[:8]
    if len(head) < 8 or head[4:8] != IDENTIFIER:
        raise StageError(
            f"{name} is not a TFLite flatbuffer (no {IDENTIFIER.decode()} identifier): "
            f"another format with a .tflite name?"
        )
    trust = verdict(allowlist.check(allowlist.read(path, name)), name, trusted, "TF op")
    # LiteRT does not verify a flatbuffer: a truncated one can crash the process. Probe it in a
    # child process first, so a bad file is an error in the user's words, not a dead stage.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from ai_edge_litert.interpreter import Interpreter; "
            "Interpreter(model_path=sys.argv[1]).allocate_tensors()",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        cause = (
            f"LiteRT crashed reading it (signal {-probe.returncode})"
            if probe.returncode < 0
            else (probe.stderr.strip().splitlines() or ["LiteRT refused it"])[-1]
        )
        raise StageError(f"{name} is not a readable TFLite file (truncated or corrupt): {cause}")
    try:
        return TFLiteModel(path), trust
    except StageError as exc:
        raise StageError(f"{name} does not load in LiteRT (truncated?): {exc}") from None


def run(ctx: StageContext) -> dict:
    source = ctx.source
    path, name = source.file("model"), ctx.user_file_name("model")
    model, trust = open_model(path, name, bool(ctx.option("trust_custom_code")))
    quantized = [d["name"] for d in model.inputs + model.outputs if d["dtype"] not in (np.float32, np.float16)]
    if quantized:
        raise StageError(
            f"{name} has integer inputs or outputs ({', '.join(quantized)}); modelferry reads "
            f"float TFLite files as sources"
        )
    # TFLiteModel names tensors by the signature's keys ("image", not "serving_default_image:0")
    # where the file has one signature, else by the tensors' own names.
    shapes = ctx.option("input_shapes", {})
    inputs = [
        samples_lib.input_spec(
            d["name"],
            [None if s < 0 else int(s) for s in d["shape_signature"]],
            shapes.get(d["name"]),
            np.dtype(d["dtype"]).name,
            "channels_last",
            name,
        )
        for d in model.inputs
    ]
    samples_lib.check_shapes_named(shapes, inputs, name)
    samples_lib.check_described(ctx.config, inputs, name)
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    golden, written, floor = samples_lib.reference(  # TFLite files run a sample at a time
        ctx.out, feeds, lambda f: feeding.run_all(model, f, inputs, batched=False), name, info
    )
    files.update(written)
    shutil.copyfile(path, ctx.out / "model.tflite")
    files["model"] = "model.tflite"
    tensors = {d["name"]: d.get("tensor", d["name"]) for d in model.inputs + model.outputs}
    outputs = samples_lib.output_specs(golden, "channels_last", feeding.sample_count(feeds, inputs))
    for spec in inputs + outputs:  # the flatbuffer's own names, which tf2onnx's graph carries
        spec["tensor"] = tensors[spec["name"]]
    return {
        "format": "tflite-source",
        "files": files,
        "inputs": inputs,
        "outputs": outputs,
        "source": source.manifest.get("source", {}),
        "precision": "fp32",
        "metrics": {"tensors_in": len(model.inputs), "tensors_out": len(model.outputs), "trust": trust},
        "noise_floor": floor,
        "samples_info": info,
    }
