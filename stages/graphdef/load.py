"""load/graphdef: a frozen TF GraphDef (.pb); TF computes golden on its inputs and outputs.

The placeholders and output nodes come from --inputs/--outputs or are found
in the graph; the bundle's input and output names are those node names.
"""

from __future__ import annotations

import numpy as np

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.graphdef.model import check, endpoints, function, placeholder, read

TOOLS = ("tensorflow-cpu", "numpy")


def signature(graph, names: list[str], shapes: dict, where: str) -> list[dict]:
    inputs = []
    for input_name in names:
        dims, dtype = placeholder(graph, input_name)
        if dims is None and input_name not in shapes:
            raise StageError(
                f"input {input_name!r} of {where} has an unknown rank; pass --input-shape {input_name}:1,…"
            )
        # TensorFlow's default layout is channels-last.
        inputs.append(
            samples_lib.input_spec(
                input_name, dims or shapes[input_name], shapes.get(input_name), dtype, "channels_last", where
            )
        )
    samples_lib.check_shapes_named(shapes, inputs, where)
    return inputs


def evaluate(
    fn, feeds: dict[str, np.ndarray], inputs: list[dict], outputs: list[str], batched: bool
) -> dict[str, np.ndarray]:
    """The function on every sample: all at once, or one by one where the batch is fixed."""
    import tensorflow as tf

    def call(run: dict) -> dict:
        values = fn(*[tf.constant(run[spec["name"]], dtype=spec["dtype"]) for spec in inputs])
        return {name: np.asarray(value) for name, value in zip(outputs, values, strict=True)}

    return feeding.run_all(call, feeds, inputs, batched)


def run(ctx: StageContext) -> dict:
    path, name = ctx.source.file("model"), ctx.user_file_name("model")
    return from_graph(ctx, read(path, name), name, path.read_bytes())


def from_graph(
    ctx: StageContext, graph, name: str, data: bytes, read: dict | None = None, outputs: list[str] | None = None
) -> dict:
    """The bundle of a frozen graph (`data`, parsed as `graph`): its ops checked, its inputs and outputs
    found or named (`outputs`, else --outputs), the golden outputs TF computes on the samples. `read`: how
    the source was read, for the report."""
    source = ctx.source
    trust = check(graph, name, bool(ctx.option("trust_custom_code")))
    input_names, output_names = endpoints(
        graph, name, ctx.option("graph_inputs", []), outputs or ctx.option("graph_outputs", [])
    )
    inputs = signature(graph, input_names, ctx.option("input_shapes", {}), name)
    samples_lib.check_described(ctx.config, inputs, name)
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    batched = all((placeholder(graph, n)[0] or [None])[0] is None for n in input_names)
    fn = function(graph, input_names, output_names)

    def golden_of(f: dict) -> dict:
        try:
            return evaluate(fn, f, inputs, output_names, batched)
        except Exception as exc:  # TF raises many types for graphs it cannot import or run
            raise StageError(
                f"TensorFlow could not run {name} from {input_names} to {output_names}: {str(exc).splitlines()[0]}"
            ) from None

    golden, written, floor = samples_lib.reference(ctx.out, feeds, golden_of, name, info)
    files.update(written)
    (ctx.out / "model.pb").write_bytes(data)
    files["model"] = "model.pb"
    return {
        "format": "graphdef",
        "files": files,
        "inputs": inputs,
        "outputs": samples_lib.output_specs(golden, "channels_last", feeding.sample_count(feeds, inputs)),
        "source": source.manifest.get("source", {}),
        "precision": "fp32",
        "metrics": {"nodes": len(graph.node), "inputs": input_names, "outputs": output_names, "trust": trust},
        **({"read": read} if read else {}),
        "noise_floor": floor,
        "samples_info": info,
    }
