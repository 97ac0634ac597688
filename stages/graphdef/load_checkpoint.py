"""load/tf-checkpoint: a TF1 checkpoint (.meta + .index + .data-*), frozen for --outputs (or its serving
signature's), then read as a frozen GraphDef: the bundle is the graphdef load's."""

from __future__ import annotations

from stages.context import StageContext
from stages.graphdef.freeze import freeze, meta_graph, outputs_of
from stages.graphdef.load import from_graph

TOOLS = ("tensorflow-cpu", "numpy")


def run(ctx: StageContext) -> dict:
    meta_path, name = ctx.source.file("meta"), ctx.user_file_name("meta")
    meta = meta_graph(meta_path, name)
    outputs = outputs_of(meta, ctx.option("graph_outputs", []), name)
    prefix = meta_path.with_name(meta_path.name[: -len(".meta")])
    graph = freeze(meta, prefix, outputs, name, ctx.user_file_name("index"))
    return from_graph(
        ctx,
        graph,
        name,
        graph.SerializeToString(),
        {
            "frozen": "checkpoint",
            "outputs": outputs,
            "nodes": len(graph.node),
            "checkpoint_nodes": len(meta.graph_def.node),
        },
        outputs,
    )
