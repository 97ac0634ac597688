"""load/tfjs: a TFJS graph model (model.json + its weight shards).

The graph is rebuilt as a frozen TF GraphDef (stages/tfjs/rebuild.py) and checked against TF's allowlist
before anything runs; the golden outputs come from Node.js running the user's own model.json with
@tensorflow/tfjs, as the model's users run it. The bundle is a frozen GraphDef: every GraphDef route
(tf2onnx, TF's SavedModel and TFLite) starts from it, and each is held to Node's outputs.
"""

from __future__ import annotations

from stages import feeding
from stages import samples as samples_lib
from stages.context import StageContext
from stages.graphdef.load import signature
from stages.graphdef.model import check, endpoints, placeholder
from stages.tfjs import rebuild
from stages.tfjs.node import NodeGraphModel, fed, outputs_of

TOOLS = ("tensorflow-cpu", "numpy", "@tensorflow/tfjs")


def _node(tensor: str) -> str:
    return tensor.split(":")[0]


def ends(model: dict, graph, name: str) -> tuple[list[str], list[str]]:
    """Inputs and outputs: the signature's (by node name), else the Placeholders and the one end node."""
    declared = model.get("signature") or model.get("userDefinedMetadata", {}).get("signature") or {}
    if declared.get("inputs") and declared.get("outputs"):
        return (
            [_node(info.get("name", key)) for key, info in declared["inputs"].items()],
            [_node(info.get("name", key)) for key, info in declared["outputs"].items()],
        )
    return endpoints(graph, name, [], [])


def run(ctx: StageContext) -> dict:
    source = ctx.source
    path, name = source.file("model"), ctx.user_file_name("model")
    model = rebuild.read(path, name)
    graph = rebuild.graph_def(model, path.parent, name)
    trust = check(graph, name, bool(ctx.option("trust_custom_code")))
    input_names, output_names = ends(model, graph, name)
    inputs = signature(graph, input_names, ctx.option("input_shapes", {}), name)
    samples_lib.check_described(ctx.config, inputs, name)
    node = NodeGraphModel(path.parent, fed(inputs, name), output_names, model_json=path.name, shown=name)
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    batched = all((placeholder(graph, n)[0] or [None])[0] is None for n in input_names)
    golden, written, floor = samples_lib.reference(
        ctx.out, feeds, lambda f: outputs_of(node, f, inputs, batched), name, info
    )
    files.update(written)
    (ctx.out / "model.pb").write_bytes(graph.SerializeToString())
    files["model"] = "model.pb"
    quantized = sorted(
        {
            w["quantization"]["dtype"]
            for group in model.get("weightsManifest", [])
            for w in group.get("weights", [])
            if w.get("quantization")
        }
    )
    return {
        "format": "graphdef",
        "files": files,
        "inputs": inputs,
        "outputs": samples_lib.output_specs(golden, "channels_last", feeding.sample_count(feeds, inputs)),
        "source": source.manifest.get("source", {}),
        "precision": "fp32",
        "metrics": {"nodes": len(graph.node), "inputs": input_names, "outputs": output_names, "trust": trust},
        "read": {
            "rebuilt": "frozen GraphDef",
            "golden": "Node.js @tensorflow/tfjs",
            "nodes": len(graph.node),
            "quantized_weights": quantized,
        },
        "noise_floor": floor,
        "samples_info": info,
    }
