"""emit/coreml: the route's PyTorch program -> a Core ML ML program (.mlpackage, fp32), in a folder `coreml/`.

coremltools 9 converts emit/pytorch's TorchScript (model.pt: checked against PyTorch's allowlist and loaded
as a TorchScript source is) with compute_precision FLOAT32 (an ML program's default is fp16). The shapes
are fixed at one sample (the validator feeds the samples one by one). Each input and output is named
after the model's own tensor (made a MIL identifier: names.py), checked in the saved model's description,
and recorded in names.json. The folder holds model.mlpackage and names.json.
"""

from __future__ import annotations

import json
import os
import re
import sys

import numpy as np

from stages import feeding
from stages import samples as samples_lib
from stages.bundle import Bundle
from stages.context import StageContext
from stages.coreml.names import identifiers
from stages.errors import StageError

TOOLS = ("coremltools", "torch", "numpy")
FOLDER = "coreml"
PACKAGE = "model.mlpackage"
INPUT_DTYPES = {
    "float32": np.float32,
    "float16": np.float32,
    "float64": np.float32,
    "int64": np.int32,
    "int32": np.int32,
    "int16": np.int32,
    "int8": np.int32,
    "uint8": np.int32,
}  # what Core ML takes


# coremltools' words when an output is an input passed through (its name sanitizer finds the input renamed)
ECHO = re.compile(r"Main block's input name, '([^']*)', is different from its corresponding var's name, '([^']*)'")


def _summary(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}".rstrip(": ")


def _one_sample(source: Bundle) -> dict[str, np.ndarray]:
    raw = samples_lib.load_npz(source.file("samples"), "samples")
    feeds = samples_lib.apply_preprocess(raw, source.manifest.get("preprocess"))
    return {
        spec["source_name"]: feeding.take(feeds[spec["source_name"]], spec, slice(0, 1))
        for spec in source.manifest["inputs"]
    }


def _input_types(ct, source: Bundle, sample: dict, arguments: list[str], named: dict[str, str], what: str):
    """ct.TensorType per forward() argument, in order: the Core ML name, the shape of one sample, its dtype."""
    by_argument = {spec["name"]: spec for spec in source.manifest["inputs"]}
    types = []
    for argument in arguments:
        spec = by_argument[argument]
        dtype = INPUT_DTYPES.get(spec["dtype"])
        if dtype is None:
            raise StageError(
                f"{what}: input {spec['source_name']} is {spec['dtype']}; Core ML takes float32, "
                f"float16 and int32 inputs"
            )
        shape = np.asarray(sample[spec["source_name"]]).shape
        if not shape:
            raise StageError(f"{what}: input {spec['source_name']} is a scalar; Core ML inputs have a shape")
        types.append(ct.TensorType(name=named[spec["source_name"]], shape=shape, dtype=dtype))
    return types


def _fed(spec: dict, name: str, shape) -> dict:
    """An input as the Core ML model takes it: its name, the shape of one sample, the dtype Core ML has."""
    dtype = np.dtype(INPUT_DTYPES[spec["dtype"]]).name
    fed = {**spec, "name": name, "shape": [int(d) for d in shape], "dtype": dtype}
    if dtype != spec["dtype"]:
        fed["source_dtype"] = spec["dtype"]
    return fed


def convert(script, inputs, outputs: list[str], what: str):
    import coremltools as ct

    try:
        return ct.convert(
            script,
            inputs=inputs,
            outputs=[ct.TensorType(name=name) for name in outputs],
            convert_to="mlprogram",
            compute_precision=ct.precision.FLOAT32,
            skip_model_load=True,
        )
    except Exception as exc:  # noqa: BLE001 - coremltools raises many types, often pages long
        print(str(exc)[-4000:], file=sys.stderr)
        echoed = ECHO.search(str(exc))
        if echoed:
            raise StageError(
                f"{what}: output {echoed.group(2)} is input {echoed.group(1)} unchanged, and a Core ML "
                f"model cannot give an input a second name as an output"
            ) from None
        raise StageError(f"coremltools cannot convert the PyTorch program made from {what}: {_summary(exc)}") from None


def _check_names(mlmodel, inputs: list[str], outputs: list[str], what: str) -> None:
    spec = mlmodel.get_spec()
    main = spec.mlProgram.functions["main"]
    got = ([f.name for f in spec.description.input], [f.name for f in spec.description.output])
    program = ([v.name for v in main.inputs], list(main.block_specializations[main.opset].outputs))
    if (
        sorted(got[0]) != sorted(inputs)
        or sorted(got[1]) != sorted(outputs)
        or sorted(program[0]) != sorted(inputs)
        or sorted(program[1]) != sorted(outputs)
    ):
        raise StageError(
            f"the Core ML model made from {what} renamed its features: inputs {got[0]}, outputs "
            f"{got[1]}; modelferry named them {inputs} and {outputs}"
        )


def run(ctx: StageContext) -> dict:
    os.environ.setdefault("TQDM_DISABLE", "1")  # coremltools' progress bars, in every stage log
    import coremltools as ct

    from stages.torch.model import open_torchscript

    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    names = json.loads(source.file("names").read_text())
    arguments = list(names["inputs"].values())
    order = sorted(names["outputs"], key=names["outputs"].get)  # the model's output names, as forward() returns them
    specs_in, specs_out = manifest["inputs"], manifest["outputs"]
    by_output = {spec["name"]: spec for spec in specs_out}
    named = identifiers([spec["source_name"] for spec in specs_in] + [by_output[name]["source_name"] for name in order])
    script = open_torchscript(
        source.file("torchscript"), source.file("torchscript").name, bool(ctx.option("trust_custom_code"))
    )
    sample = _one_sample(source)
    inputs = _input_types(ct, source, sample, arguments, named, what)
    outputs = [named[by_output[name]["source_name"]] for name in order]
    mlmodel = convert(script.module, inputs, outputs, what)
    _check_names(mlmodel, [t.name for t in inputs], outputs, what)
    folder = ctx.out / FOLDER
    folder.mkdir()
    mlmodel.save(str(folder / PACKAGE))
    (folder / "names.json").write_text(
        json.dumps(
            {
                "inputs": {spec["source_name"]: named[spec["source_name"]] for spec in specs_in},
                "outputs": {by_output[name]["source_name"]: named[by_output[name]["source_name"]] for name in order},
                "batch": "fixed: one sample per call",
            },
            indent=2,
        )
        + "\n"
    )
    program = mlmodel.get_spec().mlProgram.functions["main"]
    operations = program.block_specializations[program.opset].operations
    counts: dict[str, int] = {}
    for op in operations:
        counts[op.type] = counts.get(op.type, 0) + 1
    metrics = {
        "bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
        "operations": sum(n for t, n in counts.items() if t != "const"),
        "op_types": counts,
        "opset": program.opset,
        "coremltools": ct.__version__,
    }
    one = {spec["source_name"]: np.shape(sample[spec["source_name"]]) for spec in specs_in}
    manifest["inputs"] = [_fed(spec, named[spec["source_name"]], one[spec["source_name"]]) for spec in specs_in]
    manifest["outputs"] = [{**spec, "name": named[spec["source_name"]]} for spec in specs_out]
    files = {"model": FOLDER, "package": f"{FOLDER}/{PACKAGE}", "names": f"{FOLDER}/names.json"}
    return {**manifest, "format": "coreml", "files": {**files, **source.carry_to(ctx.out)}, "metrics": metrics}
