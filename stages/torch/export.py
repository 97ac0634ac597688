"""export/torch: PyTorch -> ONNX with torch.onnx.export(dynamo=True), the batch left dynamic where it can be.

A torch.export program goes to the exporter as it is (its dynamic dimensions
stay dynamic). A TorchScript module is first turned into an ExportedProgram
(the dynamo exporter takes no ScriptModule), then exported with a dynamic
batch, or with batch 1 where its graph fixes the batch.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import onnx

from stages.context import StageContext
from stages.errors import StageError
from stages.match import fed, renamed
from stages.torch.model import TorchModel, open_model
from stages.torch.tracing import without_stack_traces

TOOLS = ("torch", "onnxscript", "onnx")
MIN_OPSET = 18  # the dynamo exporter's lowest opset


def _summary(exc: BaseException) -> str:
    """The line of a torch.onnx/torch.export error that says what failed (they are pages long)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith("## Exception summary") and index + 1 < len(lines):
            return lines[index + 1]
    return lines[0] if lines else type(exc).__name__


def _example(manifest: dict, feeds: dict[str, np.ndarray], batch: int, model: TorchModel) -> tuple:
    """forward()'s arguments for tracing: `batch` samples of each input, the bound constants."""
    import torch

    from stages import feeding

    tensors = {
        spec["source_name"]: torch.from_numpy(
            np.ascontiguousarray(feeding.take(feeds[spec["source_name"]], spec, slice(0, batch)))
        )
        for spec in manifest["inputs"]
    }
    return tuple(model.call_args(tensors))


def _torchscript_program(model: TorchModel, example: tuple, name: str):
    from torch._export.converter import TS2EPConverter

    try:
        return TS2EPConverter(model.module, example).convert()
    except Exception as exc:  # the converter raises whatever the op it stops at raises
        print(str(exc)[-4000:], file=sys.stderr)
        raise StageError(
            f"torch cannot turn the TorchScript in {name} into an ExportedProgram for the ONNX "
            f"exporter: {_summary(exc)}"
        ) from None


def _export(target, example: tuple, opset: int, names: tuple[list, list], dynamic_shapes=None):
    import torch

    return torch.onnx.export(
        target,
        example,
        dynamo=True,
        opset_version=opset,
        input_names=names[0],
        output_names=names[1],
        dynamic_shapes=dynamic_shapes,
        verbose=False,
    )


def export_torchscript(model: TorchModel, examples: dict[int, tuple], opset: int, names, name: str):
    """The converted graph with a dynamic batch (traced at batch 2: torch specializes sizes 0 and 1),
    else as it is at batch 1 where the graph fixes its batch."""
    import torch

    batch = torch.export.Dim("batch")
    example = examples[2]
    try:
        module = _torchscript_program(model, example, name).module(check_guards=False)
        axes = {spec_name: axis for spec_name, axis in model.batch_axes.items()}
        order = model.arguments or model.inputs
        dynamic = tuple({axes[arg]: batch} if axes.get(arg) is not None else None for arg in order)
        return _export(module, example, opset, names, dynamic)
    except Exception as exc:  # a graph that fixes its batch: export it as it is (or say why not, below)
        print(f"dynamic batch not possible, exporting batch 1: {_summary(exc)}", file=sys.stderr)
    example = examples[1]
    return _export(_torchscript_program(model, example, name).module(check_guards=False), example, opset, names)


def export_program(model: TorchModel, examples: dict[int, tuple], opset: int, names, name: str):
    """The program as saved: its dynamic dimensions stay dynamic."""
    return _export(model.program, examples[model.static_batch or 1], opset, names)


def dynamic_batch(proto: onnx.ModelProto) -> bool:
    return all(not value.type.tensor_type.shape.dim[0].HasField("dim_value") for value in proto.graph.input)


# The bundle format -> how it becomes an ONNX program.
EXPORTERS = {"torchscript": export_torchscript, "torch-export": export_program}


def run(ctx: StageContext) -> dict:
    source = ctx.source
    manifest = source.inherited()
    name = ctx.user_file_name("model")
    requested = int(ctx.option("opset"))
    opset = max(requested, MIN_OPSET)
    without_stack_traces()
    model = open_model(
        source.format, source.file("model"), name, ctx.option("bind"), bool(ctx.option("trust_custom_code"))
    )
    with np.load(source.file("samples"), allow_pickle=False) as npz:
        feeds = {key: npz[key] for key in npz.files}
    model.batch_axes = {spec["source_name"]: spec.get("batch_axis", 0) for spec in manifest["inputs"]}
    examples = {batch: _example(manifest, feeds, batch, model) for batch in (1, 2)}
    names = ([s["name"] for s in manifest["inputs"]], [s["name"] for s in manifest["outputs"]])
    try:
        program = EXPORTERS[source.format](model, examples, opset, names, name)
    except StageError:
        raise
    except Exception as exc:  # torch.onnx raises its own error types, pages long
        print(str(exc)[-4000:], file=sys.stderr)
        raise StageError(f"torch.onnx.export could not convert {name}: {_summary(exc)}") from None
    out = ctx.out / "model.onnx"
    program.save(str(out))
    proto = onnx.load(str(out))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise StageError(f"the exported ONNX model fails onnx.checker: {str(exc).splitlines()[0]}") from None
    if len(proto.graph.input) != len(manifest["inputs"]) or len(proto.graph.output) != len(manifest["outputs"]):
        raise StageError(
            f"the exported ONNX model has {len(proto.graph.input)} inputs and "
            f"{len(proto.graph.output)} outputs; {name} has {len(manifest['inputs'])} and "
            f"{len(manifest['outputs'])}"
        )
    manifest["inputs"] = renamed(manifest["inputs"], fed(proto.graph))
    manifest["outputs"] = renamed(manifest["outputs"], proto.graph.output)
    metrics = {
        "opset": opset,
        "nodes": len(proto.graph.node),
        "dynamic_batch": dynamic_batch(proto),
        "exporter": "dynamo",
    }
    if opset != requested:
        metrics["opset_requested"] = requested  # the dynamo exporter starts at opset 18
    return {
        **manifest,
        "format": "onnx",
        "files": {"model": "model.onnx", **source.carry_to(ctx.out)},
        "metrics": metrics,
    }
