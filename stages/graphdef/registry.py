"""Frozen TF GraphDefs, and TF1 checkpoints frozen into one: to a SavedModel (then TF's own TFLite) or to ONNX."""

from stages.graphdef import checkpoint
from stages.impl import Impl
from stages.options import Option
from stages.sources import FOLDER, PREFIX, Source

IMPLS = (
    Impl(
        "load",
        "graphdef",
        "tf",
        "stages.graphdef.load",
        ("graphdef-file",),
        "graphdef",
        "frozen TF GraphDef (.pb); --inputs/--outputs, else found in the graph",
    ),
    Impl(
        "load",
        "tf-checkpoint",
        "tf",
        "stages.graphdef.load_checkpoint",
        ("tf-checkpoint",),
        "graphdef",
        "TF1 checkpoint (.meta + .index + .data-*): frozen for --outputs (no op of it runs), then as a GraphDef",
    ),
    Impl(
        "emit",
        "graphdef-savedmodel",
        "tf",
        "stages.graphdef.savedmodel",
        ("graphdef",),
        "savedmodel",
        "frozen GraphDef -> TF SavedModel (its TFLite then comes from TF's converter)",
    ),
    Impl(
        "export", "graphdef", "tf", "stages.graphdef.export", ("graphdef",), "onnx", "frozen GraphDef -> ONNX (tf2onnx)"
    ),
)
SOURCES = (
    Source(
        "graphdef", "graphdef-file", "frozen TF GraphDef", ("*.pb",), sniff=lambda path: path.name != "saved_model.pb"
    ),
    Source(
        "tf-checkpoint",
        "tf-checkpoint",
        "TF1 checkpoint",
        ("*.meta", "*.index", f"*.data-{checkpoint.PART}-of-{checkpoint.PART}", PREFIX, FOLDER),
        shown="prefix.meta + prefix.index + prefix.data-*, the prefix, or its folder; with --outputs",
        entries=("*.meta",),
        sniff=checkpoint.sniff,
        resolve=checkpoint.resolve,
        companions=checkpoint.companions,
    ),
)
OPTIONS = (
    Option(
        "graph_inputs",
        "names",
        "Frozen GraphDef and TF checkpoint sources: input placeholder names, "
        "comma-separated (default: every Placeholder).",
        stages=("load",),
        flag="--inputs",
    ),
    Option(
        "graph_outputs",
        "names",
        "Frozen GraphDef and TF checkpoint sources: output node names, "
        "comma-separated (default: the graph's one end node; a checkpoint's serving signature).",
        stages=("load",),
        flag="--outputs",
    ),
)
