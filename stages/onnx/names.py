"""A graph pass: ONNX names that converters to TF reject, made safe, with the map back.

TF scope names are `[A-Za-z0-9.][A-Za-z0-9_.\\-/]*`; ONNX allows any string, and
real models have `Softmax@0`, `x:0`, `conv 1`. onnx2tf turns node and tensor
names into TF scopes and fails on those ("'Softmax@0' is not a valid scope
name"). Renaming covers nodes, tensors (graph inputs and outputs, weights,
value_info, node inputs and outputs, subgraphs too). The manifest keeps the
model's own name as `source_name`; `name` becomes the safe one, which is what
the converted artifact carries.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

TF_SCOPE = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-/]*$")
UNSAFE = re.compile(r"[^A-Za-z0-9_.\-/]")


def safe(name: str, taken: set[str]) -> str:
    """A TF-safe version of `name`, not in `taken`."""
    if not name or TF_SCOPE.match(name):
        return name
    base = UNSAFE.sub("_", name)
    base = base if TF_SCOPE.match(base) else f"t_{base}"
    candidate, n = base, 1
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def graphs(graph):
    """A graph and every subgraph in it (If branches, Loop and Scan bodies)."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.g.node:
                yield from graphs(attribute.g)
            for sub in attribute.graphs:
                yield from graphs(sub)


def rename(model) -> dict[str, str]:
    """Make every node and tensor name of `model` TF-safe in place; returns {old: new} of those changed."""
    every = list(graphs(model.graph))
    tensors, nodes = set(), set()
    for graph in every:
        tensors.update(v.name for v in (*graph.input, *graph.output, *graph.value_info))
        tensors.update(t.name for t in graph.initializer)
        for node in graph.node:
            tensors.update(node.input)
            tensors.update(node.output)
            nodes.add(node.name)
    taken = tensors | nodes
    changed = {}
    for name in sorted(tensors):
        new = safe(name, taken)
        if new != name:
            changed[name] = new
            taken.add(new)
    node_names = {}
    for name in sorted(nodes):
        new = safe(name, taken)
        if new != name:
            node_names[name] = new
            taken.add(new)

    apply(model, changed, node_names)
    return changed


def apply(model, changed: dict[str, str], node_names: dict[str, str] | None = None) -> None:
    """Rename tensors (and nodes) everywhere in `model`, subgraphs included."""
    node_names = node_names or {}

    def fix(name: str) -> str:
        return changed.get(name, name)

    for graph in graphs(model.graph):
        for value in (*graph.input, *graph.output, *graph.value_info, *graph.initializer):
            value.name = fix(value.name)
        for node in graph.node:
            node.name = node_names.get(node.name, node.name)
            node.input[:] = [fix(n) for n in node.input]
            node.output[:] = [fix(n) for n in node.output]


def own_names(model, inputs: list[dict], outputs: list[dict]) -> tuple[list[dict], list[dict]]:
    """The graph's inputs and outputs given the model's own names (`source_name`) where the exporter named
    them otherwise (tf2onnx's `serving_default_input_2_0`, `StatefulPartitionedCall_1`): a user of the file
    tells outputs of one shape apart by them. A name another tensor of the graph holds is left as it is."""
    taken = {name for graph in graphs(model.graph) for node in graph.node for name in (*node.input, *node.output)}
    taken |= {v.name for v in (*model.graph.input, *model.graph.output, *model.graph.initializer)}
    changed: dict[str, str] = {}
    for spec in (*inputs, *outputs):
        own = spec.get("source_name", spec["name"])
        if own != spec["name"] and own not in taken and own not in changed.values():
            changed[spec["name"]] = own
    apply(model, changed)

    def named(specs: list[dict]) -> list[dict]:
        return [{**spec, "name": changed.get(spec["name"], spec["name"])} for spec in specs]

    return named(inputs), named(outputs)


def safe_copy(
    path: Path, dest: Path, inputs: list[dict], outputs: list[dict], passes: tuple[str, ...] = ()
) -> tuple[Path, list[dict], list[dict], dict[str, int]]:
    """`path` copied to `dest` with safe names, then legalized by `passes` (stages/onnx/legalize); the
    manifest's inputs and outputs named as in the copy, and what each pass rewrote."""
    import onnx

    from stages.onnx import legalize

    model = onnx.load(str(path))
    changed = rename(model)
    legalized = legalize.apply(model, passes)
    if changed or legalized:
        onnx.save(model, str(dest))
    else:
        shutil.copyfile(path, dest)

    def named(specs: list[dict]) -> list[dict]:
        return [{**spec, "name": changed.get(spec["name"], spec["name"])} for spec in specs]

    return dest, named(inputs), named(outputs), legalized
