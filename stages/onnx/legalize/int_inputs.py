"""Integer inputs (token ids, raw bytes, uint8 pixels) for targets whose blobs are float only (ncnn, Caffe):
the graph takes the input as float32 and casts it back to its integer type first thing. Exact for integers
of magnitude up to 2^24, which a float32 holds exactly (token ids, bytes, pixels). The input's spec in the
manifest (the `inputs` the pass is given) then says float32, keeps the integer type as `source_dtype` and
tells the user in a `note`: the validation feeds the source's integer samples as floats, and the report
shows all three."""

from __future__ import annotations

from stages.onnx.legalize.graph import Graph, rename_reads

INTEGER = {2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 12: "uint32", 13: "uint64"}
FLOAT = 1


def run(graph: Graph) -> int:
    from onnx import helper

    specs = {spec["name"]: spec for spec in graph.inputs}
    casts = []
    for value in graph.graph.input:
        kind = value.type.tensor_type.elem_type
        if kind not in INTEGER or value.name in graph.constants or value.name in graph.outputs:
            continue
        inner = f"{value.name}/{INTEGER[kind]}"
        for node in graph.graph.node:
            rename_reads(node, value.name, inner)
        value.type.tensor_type.elem_type = FLOAT
        casts.append(helper.make_node("Cast", [value.name], [inner], name=f"{value.name}/cast", to=kind))
        spec = specs.get(value.name)
        if spec is not None:
            spec.update(
                dtype="float32",
                source_dtype=INTEGER[kind],
                note=f"the artifact's blobs are float: it takes the {INTEGER[kind]} values as float32 and "
                f"casts them back inside (exact below 2^24)",
            )
    if casts:
        graph.prepend(casts)
    return len(casts)
