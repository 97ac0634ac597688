"""Test helper (tf runtime): an ONNX file's nodes as JSON, {name: {"op": type, "outputs": [...]}}."""

import json
import sys

import onnx

graph = onnx.load(sys.argv[1]).graph
with open(sys.argv[2], "w") as out:
    json.dump({node.name: {"op": node.op_type, "outputs": list(node.output)} for node in graph.node}, out)
