"""emit/pytorch: ONNX -> a folder `pytorch/` a PyTorch user loads without modelferry.

The ONNX graph becomes a torch.fx GraphModule node by node (stages/torch/from_onnx), its initializers the
module's parameters and buffers under their ONNX names (made identifiers). The folder holds:
- model.pt2: the module exported with torch.export (torch.export.load), the batch dynamic where the ONNX
  graph's inputs leave it so and the graph lets it be, else fixed as the bundle's signature has it;
- model.pt: the same module as TorchScript (torch.jit.trace; torch.jit.load), checked to compute what
  model.pt2 computes, at one sample and (dynamic batch) at several;
- state_dict.pt: its parameters and buffers, tensors only (torch.load(weights_only=True));
- names.json: the model's own names -> forward() arguments, the index of each output in what forward()
  returns, and each initializer's parameter.
Validation runs model.pt2 (stages/torch/runner.py).
"""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import torch

from stages import feeding
from stages import samples as samples_lib
from stages.bundle import Bundle
from stages.context import StageContext
from stages.errors import StageError
from stages.torch.from_onnx.build import Built, build
from stages.torch.from_onnx.graph import NeedsStaticBatch
from stages.torch.tracing import without_stack_traces
from stages.validate.runners import target_feeds

TOOLS = ("torch", "onnx", "numpy")
FOLDER = "pytorch"
EXPORT_BATCH = 8  # samples the dynamic program is traced with: past the batches 1-3 the sizes were fitted at
TOLERANCE = 1e-4  # TorchScript against the exported program, times max(1, max |output|): same kernels, other order


def _summary(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _dynamic(model, specs: list[dict]) -> str | None:
    """None where every batched input's batch is dynamic in the ONNX graph, else why the batch stays fixed."""
    batched = [spec for spec in specs if spec.get("batch_axis") is not None]
    if not batched:
        return "no input has a batch axis"
    declared = {value.name: value.type.tensor_type.shape.dim for value in model.graph.input}
    for spec in batched:
        dims, axis = declared.get(spec["name"], []), spec["batch_axis"]
        if axis >= len(dims) or dims[axis].HasField("dim_value"):
            return f"the ONNX graph fixes the batch of {spec['name']}"
    return None


def _samples(source: Bundle) -> dict[str, np.ndarray]:
    raw = samples_lib.load_npz(source.file("samples"), "samples")
    return samples_lib.apply_preprocess(raw, source.manifest.get("preprocess"))


def _example(source: Bundle, built: Built, feeds: dict[str, np.ndarray], batch: int) -> tuple:
    """forward()'s arguments from the samples: `batch` of them on each batch axis (repeated where there are
    fewer), the whole of an input that has none."""
    run = {}
    for spec in source.manifest["inputs"]:
        array, axis = feeds[spec["source_name"]], spec.get("batch_axis")
        if axis is None or not built.dynamic:
            run[spec["source_name"]] = feeding.take(array, spec, slice(0, 1))
            continue
        have = feeding.name_count(array, spec)
        picked = feeding.take(array, spec, slice(0, min(batch, have)))
        if have < batch:
            picked = np.take(picked, np.arange(batch) % have, axis=axis)
        run[spec["source_name"]] = picked
    arrays = target_feeds(source, run)
    return tuple(torch.from_numpy(np.ascontiguousarray(arrays[name])) for name in built.arguments)


def _export(built: Built, example: tuple, specs: list[dict]):
    dynamic_shapes = None
    if built.dynamic:
        batch = torch.export.Dim("batch", max=built.batch_limit) if built.batch_limit else torch.export.Dim("batch")
        axes = {spec["name"]: spec.get("batch_axis") for spec in specs}
        dynamic_shapes = tuple({axes[name]: batch} if axes[name] is not None else None for name in built.arguments)
    with torch.no_grad():
        return torch.export.export(built.module, example, dynamic_shapes=dynamic_shapes)


def convert(model, source: Bundle, feeds: dict[str, np.ndarray], what: str):
    """(the built module, its exported program, the example it was traced with, why the batch is fixed or None)."""
    specs = source.manifest["inputs"]
    without_stack_traces()
    fixed = _dynamic(model, specs)
    if fixed is None:
        try:
            built = build(model, specs, what, dynamic=True)
            example = _example(source, built, feeds, EXPORT_BATCH)
            return built, _export(built, example, specs), example, None
        except NeedsStaticBatch as exc:
            fixed = str(exc)
        except StageError:
            raise
        except Exception as exc:  # torch.export's own errors: the graph fixes its batch somewhere
            fixed = f"torch.export with a dynamic batch: {_summary(exc)}"
        print(f"the batch stays fixed: {fixed}", file=sys.stderr)
    built = build(model, specs, what, dynamic=False)
    example = _example(source, built, feeds, 1)
    try:
        return built, _export(built, example, specs), example, fixed
    except Exception as exc:  # noqa: BLE001 - torch.export raises many types, pages long
        print(str(exc)[-4000:], file=sys.stderr)
        raise StageError(f"torch.export cannot export the module made from {what}: {_summary(exc)}") from None


def _flat(outputs) -> list[torch.Tensor]:
    return list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]


def _differs(got: list[torch.Tensor], want: list[torch.Tensor]) -> str | None:
    if len(got) != len(want):
        return f"{len(got)} outputs, not {len(want)}"
    for index, (a, b) in enumerate(zip(got, want, strict=True)):
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"output {index} is {a.dtype}{list(a.shape)}, not {b.dtype}{list(b.shape)}"
        if a.is_floating_point():
            scale = max(1.0, float(b.abs().max())) if b.numel() else 1.0
            error = float((a - b).abs().max()) if b.numel() else 0.0
            if not error <= TOLERANCE * scale:
                return f"output {index} differs by {error:.3g}"
        elif not torch.equal(a, b):
            return f"output {index} differs"
    return None


def torchscript(built: Built, program, examples: list[tuple], what: str):
    """The module traced as TorchScript, checked against the exported program on each example."""
    with torch.no_grad():
        try:
            script = torch.jit.trace(built.module, examples[0], check_trace=False)
        except Exception as exc:  # noqa: BLE001 - the tracer raises many types
            raise StageError(f"torch.jit.trace cannot trace the module made from {what}: {_summary(exc)}") from None
        exported = program.module()
        for example in examples:
            problem = _differs(_flat(script(*example)), _flat(exported(*example)))
            if problem:
                raise StageError(
                    f"the TorchScript traced from {what} does not compute what its torch.export program "
                    f"does at inputs {[list(t.shape) for t in example]}: {problem}"
                )
    return script


def run(ctx: StageContext) -> dict:
    import onnx

    source = ctx.source
    manifest = source.inherited()
    what = ctx.user_file_name("model")
    model = onnx.load(str(source.file("model")))
    feeds = _samples(source)
    built, program, example, fixed = convert(model, source, feeds, what)
    examples = [example, _example(source, built, feeds, 1)] if built.dynamic else [example]
    script = torchscript(built, program, examples, what)
    folder = ctx.out / FOLDER
    folder.mkdir()
    torch.export.save(program, str(folder / "model.pt2"))
    torch.jit.save(script, str(folder / "model.pt"))
    torch.save(built.module.state_dict(), folder / "state_dict.pt")
    names = {
        "inputs": built.arguments,
        "outputs": {name: i for i, name in enumerate(built.outputs)},
        "parameters": built.parameters,
        "batch": "dynamic" if built.dynamic else f"fixed: {fixed}",
    }
    (folder / "names.json").write_text(json.dumps(names, indent=2) + "\n")
    metrics = {
        "bytes": sum(p.stat().st_size for p in folder.iterdir()),
        "dynamic_batch": built.dynamic,
        "nodes": sum(1 for node in built.module.graph.nodes if node.op in ("call_function", "call_method")),
        "parameters": len(built.parameters),
    }
    if fixed:
        metrics["batch_fixed"] = fixed
    # the artifact's inputs are forward()'s arguments (the report shows both names where they differ)
    manifest["inputs"] = [{**spec, "name": built.arguments[spec["name"]]} for spec in manifest["inputs"]]
    files = {
        "model": FOLDER,
        **{
            role: f"{FOLDER}/{name}"
            for role, name in (
                ("pt2", "model.pt2"),
                ("torchscript", "model.pt"),
                ("state_dict", "state_dict.pt"),
                ("names", "names.json"),
            )
        },
    }
    return {**manifest, "format": "pytorch", "files": {**files, **source.carry_to(ctx.out)}, "metrics": metrics}
