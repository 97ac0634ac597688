"""Frozen TF GraphDefs: to a SavedModel (then TF's own TFLite) or to ONNX."""
from stages.impl import Impl
from stages.sources import Source
from stages.options import Option

IMPLS = (
    Impl("load", "graphdef", "tf", "stages.graphdef.load", ("graphdef-file",), "graphdef",
         "frozen TF GraphDef (.pb); --inputs/--outputs, else found in the graph"),
    Impl("emit", "graphdef-savedmodel", "tf", "stages.graphdef.savedmodel", ("graphdef",), "savedmodel",
         "frozen GraphDef -> TF SavedModel (its TFLite then comes from TF's converter)"),
    Impl("export", "graphdef", "tf", "stages.graphdef.export", ("graphdef",), "onnx",
         "frozen GraphDef -> ONNX (tf2onnx)"),
)
SOURCES = (Source("graphdef", "graphdef-file", "frozen TF GraphDef", ("*.pb",),
                  sniff=lambda path: path.name != "saved_model.pb"),)
OPTIONS = (
    Option("graph_inputs", "names", "Frozen GraphDef sources: input placeholder names, comma-separated (default: "
           "every Placeholder).", stages=("load",), flag="--inputs"),
    Option("graph_outputs", "names", "Frozen GraphDef sources: output node names, comma-separated (default: the "
           "graph's one end node).", stages=("load",), flag="--outputs"),
)
