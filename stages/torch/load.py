"""load/torchscript and load/torch-export: a PyTorch archive, checked before loading; torch computes golden.

Input shapes come from --input-shape, else from the file (a torch.export
program's placeholders carry them), else from the samples or calibration
arrays of the input's name. PyTorch is channels-first: 4-D inputs are NCHW.
"""

from __future__ import annotations

import shutil

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.torch.archive import SUFFIX
from stages.torch.model import TorchModel, forward, open_model

TOOLS = ("torch", "numpy")
# The load implementation's name -> the bundle format it makes (also the kind of archive it reads).
KINDS = {"torchscript": "torchscript", "torch-export": "torch-export"}


def _user_arrays(source) -> dict:
    """Input arrays the user gave (samples first, then calibration): only their shapes are used here."""
    for role in ("samples", "calibration"):
        if source.has(role):
            return samples_lib.load_npz(source.file(role), f"{role} file")
    return {}


DTYPES = ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")


def _dtype(model: TorchModel, input_name: str, given: dict, arrays: dict, name: str) -> str:
    """An input's dtype: the program's (torch.export), else --input-dtype, else the user's array of that name,
    else float32 (TorchScript records none)."""
    if model.dtypes.get(input_name):
        if input_name in given and given[input_name] != model.dtypes[input_name]:
            raise StageError(
                f"--input-dtype {input_name}:{given[input_name]} does not fit {name}, whose input "
                f"{input_name!r} is {model.dtypes[input_name]}"
            )
        return model.dtypes[input_name]
    if input_name in given:
        return given[input_name]
    if input_name in arrays:
        return arrays[input_name].dtype.name
    return "float32"


def signature(model: TorchModel, source, shapes: dict, name: str, dtypes: dict | None = None) -> list[dict]:
    samples_lib.check_shapes_named(shapes, [{"name": input_name} for input_name in model.inputs], name)
    dtypes = dtypes or {}
    unknown = sorted(set(dtypes) - set(model.inputs))
    if unknown:
        raise StageError(f"--input-dtype names {unknown}, but the inputs of {name} are {model.inputs}")
    wrong = {k: v for k, v in dtypes.items() if v not in DTYPES}
    if wrong:
        raise StageError(
            f"--input-dtype {', '.join(f'{k}:{v}' for k, v in wrong.items())}: choose one of {', '.join(DTYPES)}"
        )
    arrays = None
    inputs = []
    for input_name in model.inputs:
        dims = model.dims[input_name]
        override = shapes.get(input_name)
        if dims is None and override is None:
            arrays = _user_arrays(source) if arrays is None else arrays
            if input_name not in arrays:
                raise StageError(
                    f"{name} does not record the shape of its input {input_name!r} (TorchScript "
                    f"keeps none); pass --input-shape {input_name}:1,3,224,224 (its real shape), or "
                    f"--calibration/--samples arrays named {input_name!r}"
                )
            dims = [None, *arrays[input_name].shape[1:]]
        elif (
            override is not None
            and dims is not None
            and (
                len(override) != len(dims)
                or any(d not in (None, s) for d, s in zip(dims[1:], override[1:], strict=True))
            )
        ):
            raise StageError(
                f"--input-shape {input_name}:{','.join(map(str, override))} does not fit {name}, whose input is {dims}"
            )
        if arrays is None and not model.dtypes.get(input_name) and input_name not in dtypes:
            arrays = _user_arrays(source)
        dtype = _dtype(model, input_name, dtypes, arrays or {}, name)
        inputs.append(
            samples_lib.input_spec(input_name, list(dims or override), override, dtype, "channels_first", name)
        )
    return inputs


def run(ctx: StageContext) -> dict:
    source = ctx.source
    kind = KINDS[ctx.impl.name]
    path, name = source.file("model"), ctx.user_file_name("model")
    model = open_model(kind, path, name, ctx.option("bind"), bool(ctx.option("trust_custom_code")))
    inputs = signature(model, source, ctx.option("input_shapes", {}), name, ctx.option("input_dtype", {}))
    samples_lib.check_described(ctx.config, inputs, name)
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    golden, written, floor = samples_lib.reference(ctx.out, feeds, lambda f: forward(model, f, inputs), name, info)
    files.update(written)
    copy = f"model{SUFFIX[kind]}"  # torch.export.load wants the .pt2 suffix
    shutil.copyfile(path, ctx.out / copy)
    files["model"] = copy
    return {
        "format": kind,
        "files": files,
        "inputs": inputs,
        "outputs": samples_lib.output_specs(golden, samples=feeding.sample_count(feeds, inputs)),
        "source": source.manifest.get("source", {}),
        "precision": "fp32",
        "metrics": {
            "static_batch": model.static_batch,
            "trust": model.trust,
            **({"bound": model.bound} if model.bound else {}),
        },
        "noise_floor": floor,
        "samples_info": info,
    }
