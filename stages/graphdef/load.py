"""load/graphdef: a frozen TF GraphDef (.pb); TF computes golden on its inputs and outputs.

The placeholders and output nodes come from --inputs/--outputs or are found
in the graph; the bundle's input and output names are those node names.
"""
from __future__ import annotations

import shutil

import numpy as np

from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.graphdef.model import endpoints, function, placeholder, read

TOOLS = ("tensorflow-cpu", "numpy")


def signature(graph, names: list[str], shapes: dict, where: str) -> list[dict]:
    inputs = []
    for input_name in names:
        dims, dtype = placeholder(graph, input_name)
        if dims is None and input_name not in shapes:
            raise StageError(f"input {input_name!r} of {where} has an unknown rank; "
                             f"pass --input-shape {input_name}:1,…")
        # TensorFlow's default layout is channels-last.
        inputs.append(samples_lib.input_spec(input_name, dims or shapes[input_name], shapes.get(input_name),
                                             dtype, "NHWC", where))
    samples_lib.check_shapes_named(shapes, inputs, where)
    return inputs


def evaluate(fn, feeds: dict[str, np.ndarray], inputs: list[dict], outputs: list[str],
             batched: bool) -> dict[str, np.ndarray]:
    """The function on every sample: all at once, or one by one where the batch is fixed."""
    import tensorflow as tf

    count = len(next(iter(feeds.values())))
    chunks = [slice(0, count)] if batched else [slice(i, i + 1) for i in range(count)]
    parts: dict[str, list] = {name: [] for name in outputs}
    for chunk in chunks:
        values = fn(*[tf.constant(feeds[spec["name"]][chunk], dtype=spec["dtype"]) for spec in inputs])
        for name, value in zip(outputs, values):
            parts[name].append(np.asarray(value))
    return {name: np.concatenate(values) for name, values in parts.items()}


def run(ctx: StageContext) -> dict:
    source = ctx.source
    path, name = source.file("model"), ctx.user_file_name("model")
    graph = read(path, name)
    input_names, output_names = endpoints(graph, name, ctx.option("graph_inputs", []),
                                          ctx.option("graph_outputs", []))
    inputs = signature(graph, input_names, ctx.option("input_shapes", {}), name)
    feeds, files = samples_lib.reference_inputs(source, inputs, ctx.out)
    batched = all((placeholder(graph, n)[0] or [None])[0] is None for n in input_names)
    try:
        golden = evaluate(function(graph, input_names, output_names), feeds, inputs, output_names, batched)
    except Exception as exc:  # TF raises many types for graphs it cannot import or run
        raise StageError(f"TensorFlow could not run {name} from {input_names} to {output_names}: "
                         f"{str(exc).splitlines()[0]}") from None
    files.update(samples_lib.write_reference(ctx.out, feeds, golden, name))
    shutil.copyfile(path, ctx.out / "model.pb")
    files["model"] = "model.pb"
    return {"format": "graphdef", "files": files, "inputs": inputs,
            "outputs": samples_lib.output_specs(golden, layout4d="NHWC"),
            "source": source.manifest.get("source", {}), "precision": "fp32",
            "metrics": {"nodes": len(graph.node), "inputs": input_names, "outputs": output_names}}
